# The two set-up commands for a fresh machine: `make demo` and `make test`.
# Each makes its own venv and installs exactly what the lock files under requirements/
# name, hash-checked: the same commit gives the same environment next month.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-inventory
# `make lock` runs uv in a venv of its own, at this version.
UV_VERSION ?= 0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

.PHONY: install install-test demo test test-latest lint typecheck bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A stamp per lock file: the venv is brought back in line whenever the lock changes.
$(VENV)/.runtime.stamp: requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/runtime.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test.stamp: requirements/test.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.runtime.stamp

install: $(VENV)/.runtime.stamp

install-test: $(VENV)/.test.stamp

demo: install
	rm -rf $(DEMO_DIR)
	$(BIN)/mops demo $(DEMO_DIR)

test: install-test
	$(BIN)/python -m pytest -q

# The suite on the newest release of every dependency, in a venv of its own (the
# project's scheduled CI job): an upstream change shows up there, not on main.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[test]'
	.venv-latest/bin/python -m pip list --format=freeze
	.venv-latest/bin/python -m pytest -q

lint: install-test
	$(BIN)/ruff check .

typecheck: install-test
	$(BIN)/python -m mypy

bench: install-test
	for b in foundation check drift audit; do $(BIN)/python tests/benchmarks/$${b}_bench.py || exit 1; done

# Regenerate the lock files from pyproject.toml (ranges) and requirements/build.in.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv==$(UV_VERSION)
	.venv-lock/bin/uv pip compile pyproject.toml requirements/build.in --extra test $(LOCK_FLAGS) -o requirements/test.txt
	# The runtime lock takes the test lock's versions, so the demo and the actions run
	# exactly what the suite tested.
	.venv-lock/bin/uv pip compile pyproject.toml requirements/build.in --constraint requirements/test.txt $(LOCK_FLAGS) -o requirements/runtime.txt

clean:
	rm -rf $(VENV) .venv-latest .venv-lock $(DEMO_DIR) build dist .pytest_cache .mypy_cache
