# Two commands for a newcomer: `make run` (set up, ingest corpus/, serve answers) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/policy-qa

.PHONY: setup run ingest serve test test-fast typecheck lint bench eval

setup: $(VENV)/.installed

# The CPU build of torch must come first: anything that pulls plain `torch` gets a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(CLI) provision
	touch $@

run: setup
	$(CLI) ingest
	$(CLI) serve

ingest: setup
	$(CLI) ingest

serve: setup
	$(CLI) serve

# One pytest process per group: every test service keeps its model sessions and Edge shard
# until its process ends, and one process for the whole suite grew past the machine's memory.
TEST_GROUPS = $(wildcard tests/api/test_*.py) tests/index tests/evaluation "tests/core tests/ingest tests/qa tests/test_compose.py tests/test_layout.py"

test: setup
	$(VENV)/bin/mypy
	@set -e; for group in $(TEST_GROUPS); do echo "== $$group"; $(PY) -m pytest -q $$group; done

# unit tests only: no model, no index (under a minute)
test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser and not model"

typecheck: setup
	$(VENV)/bin/mypy

lint: setup
	$(VENV)/bin/ruff check .

eval: setup
	$(CLI) eval --gold evaluation/gold/validation.jsonl --modes bm25,dense,hybrid
