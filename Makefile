# make demo: set up .venv and run the main job on the seeds plus a generated set, then
# the passage job on the seeds plus pages of the same site (repeated passages, boilerplate).
# make test: set up .venv and run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean

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

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/speed.py --runs 5
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf build $(VENV) *.egg-info .pytest_cache .hypothesis
