# The two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-inventory

.PHONY: venv install install-test demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

demo: install
	rm -rf $(DEMO_DIR)
	$(BIN)/mops demo $(DEMO_DIR)

test: install-test
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python tests/benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist .pytest_cache
