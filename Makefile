# make demo: set up .venv and run the main job on the seeds plus a generated set, then
# the passage job on the seeds plus pages of the same site (repeated passages, boilerplate); both write an
# HTML report (build/report.html, build/demo-report.html).
# make test: set up .venv and run the whole suite (installs Debian's redis-server and chromium packages first
# if they are missing: the shared-index tests start their own server on a free port, and the HTML report tests
# render the report in headless Chromium, driven by Playwright). The venv gets the ray extra: the --engine ray
# tests start a two-node Ray cluster of this machine (ray start --block) and stop it. make test runs make lint
# first.
# make lint: ruff and mypy on the package (their settings are in pyproject.toml).
# make test-fast: make lint, then the tests that start no server (no Redis, no Ray cluster, no Chromium; see the
# markers in pyproject.toml): nothing is installed from Debian.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install install-redis-server install-chromium demo lint test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test,report,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p build
	$(BIN)/python seeds/generate.py --out build/demo.jsonl
	cat seeds/seeds.jsonl build/demo.jsonl | $(BIN)/dedupe scan --report build/demo-report.json --report build/demo-report.html > build/demo-annotated.jsonl
	$(BIN)/python seeds/generate.py --check build/demo-annotated.jsonl --report build/demo-report.json
	$(BIN)/dedupe scan --passages seeds/seeds.jsonl seeds/site.jsonl --report build/passages-report.json --report build/report.html > build/passages.jsonl
	$(BIN)/python seeds/passages.py build/passages.jsonl
	@echo "HTML reports (open in a browser): $(CURDIR)/build/report.html (the seeds: repeated passages, boilerplate)"
	@echo "  and $(CURDIR)/build/demo-report.html (the generated set: clusters, each member beside its representative)"

# ruff (lint rules, import order and formatting) and mypy (types) on dedupe/; both come with the test extra, and
# mypy reads the files it checks from pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check dedupe
	$(BIN)/ruff format --check dedupe
	$(BIN)/mypy

# The browser tests keep their screenshots of the report pages in build/screenshots.
test: $(STAMP) lint install-redis-server install-chromium
	DEDUPE_SCREENSHOTS=$${DEDUPE_SCREENSHOTS:-build/screenshots} $(BIN)/python -m pytest

# The tests marked redis, ray or browser (they start redis-server, a Ray cluster or headless Chromium) are left out.
test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -m "not redis and not ray and not browser"

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

# The HTML report tests (tests/browser.py) render pages in headless Chromium through Playwright, which
# drives the system's binary: never `playwright install` (it downloads a browser; CI reaches only package
# registries). Installs Debian's chromium package when no chromium binary is on PATH: apt-get update
# once, then apt-get install, with sudo only when not root. DEDUPE_CHROMIUM=/path/to/chrome makes the
# tests use another binary (this target still wants one named chromium on PATH).
install-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium not found: installing Debian's chromium package"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "make: chromium is missing and installing it needs root: run 'apt-get update && apt-get install -y chromium' as root, then make test again" >&2; exit 1; fi; \
	  command -v apt-get >/dev/null 2>&1 || { echo "make: chromium is missing and there is no apt-get here: install Chromium with your package manager so that a chromium binary is on PATH (or set DEDUPE_CHROMIUM to a Chromium or Chrome binary), then make test again" >&2; exit 1; }; \
	  { $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	    || { echo "make: installing chromium with apt-get failed (see above): fix that, or install Chromium by hand, then make test again" >&2; exit 1; }; \
	  command -v chromium >/dev/null 2>&1 || { echo "make: chromium is still not on PATH after installing Debian's package (it is /usr/bin/chromium)" >&2; exit 1; }; \
	}

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/speed.py --runs 5
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/engines.py --runs 3

clean:
	rm -rf build $(VENV) *.egg-info .pytest_cache .hypothesis
