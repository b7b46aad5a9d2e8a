# make demo: set up .venv and run the main job on the seeds plus a generated set, then
# the passage job on the seeds plus pages of the same site (repeated passages, boilerplate).
# make test: set up .venv and run the whole suite (installs Debian's redis-server first if it is missing:
# the shared-index tests start their own server on a free port).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install install-redis-server demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p build
	$(BIN)/python seeds/generate.py --out build/demo.jsonl
	cat seeds/seeds.jsonl build/demo.jsonl | $(BIN)/dedupe scan --report build/demo-report.json > build/demo-annotated.jsonl
	$(BIN)/python seeds/generate.py --check build/demo-annotated.jsonl --report build/demo-report.json
	$(BIN)/dedupe scan --passages seeds/seeds.jsonl seeds/site.jsonl --report build/passages-report.json > build/passages.jsonl
	$(BIN)/python seeds/passages.py build/passages.jsonl

test: $(STAMP) install-redis-server
	$(BIN)/python -m pytest

# tests/test_redis_index.py needs the redis-server binary (the tests start their own server on a
# random port of 127.0.0.1 and stop it). Installs Debian's package when the binary is missing:
# apt-get update once, then apt-get install, with sudo only when not root. Starts no service
# here (in a container without an init system, Debian's package does not start one either).
install-redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server not found: installing Debian's redis-server package"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "make: redis-server is missing and installing it needs root: run 'apt-get update && apt-get install -y redis-server' as root, then make test again" >&2; exit 1; fi; \
	  command -v apt-get >/dev/null 2>&1 || { echo "make: redis-server is missing and there is no apt-get here: install redis-server (Redis 6 or later) with your package manager so that it is on PATH, then make test again" >&2; exit 1; }; \
	  { $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; } \
	    || { echo "make: installing redis-server with apt-get failed (see above): fix that, or install redis-server by hand, then make test again" >&2; exit 1; }; \
	  command -v redis-server >/dev/null 2>&1 || { echo "make: redis-server is still not on PATH after installing Debian's package (it is /usr/bin/redis-server)" >&2; exit 1; }; \
	}

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/speed.py --runs 5
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf build $(VENV) *.egg-info .pytest_cache .hypothesis
