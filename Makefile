# clearsight: two commands for a new machine.
#   make demo   set up a virtual environment and scan the bundled benign samples
#   make test   set up the development environment, lint, type-check and run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/clearsight demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# One worker per core (pytest-xdist); a test file stays on one worker, and the
# PostgreSQL tests share one (tests/xdist_support.py).
pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n auto --dist loadfile

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/scan_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .bench
