# clearsight: commands for a new machine (see the README's "First hour").
#   make demo   set up a virtual environment and scan the bundled benign samples into demo-case/
#   make serve  the review server of demo-case/ (or CASE=folder) on 127.0.0.1, with an admin
#   make test   set up the development environment, lint, type-check and run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
CASE   ?= demo-case
PORT   ?= 8730

.PHONY: demo serve test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

# The review server's extra; the dev extra holds it too.
$(VENV)/.installed-server: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[server]"
	touch $@

# invisible-watermark is a test oracle only (its package imports torch, so never a
# dependency): its decoder file goes under .bench/, where the watermark tests load it alone.
$(VENV)/.installed-dev: $(BIN)/python pyproject.toml .bench/vpdq/.built
	$(BIN)/pip install --quiet -e ".[dev,exchange,ray]"
	$(BIN)/pip install --quiet --no-deps --target .bench/invisible-watermark "invisible-watermark>=0.2"
	touch $@ $(VENV)/.installed $(VENV)/.installed-server

# vpdq, Meta's vPDQ binding, is a test and benchmark oracle only: it has no wheels and
# links against the system's FFmpeg (libavformat-dev libavcodec-dev libswscale-dev
# libavutil-dev pkg-config cmake), so it is built from its source into .bench/vpdq,
# where tests/video_clips.py and benchmarks/video_scan.py load it.
.bench/vpdq/.built: $(BIN)/python
	rm -rf .bench/vpdq .bench/vpdq-src
	$(BIN)/pip download --quiet --no-binary :all: --no-deps --dest .bench/vpdq-src "vpdq==0.2.5"
	$(BIN)/pip install --quiet --no-deps --target .bench/vpdq .bench/vpdq-src/vpdq-0.2.5.tar.gz
	touch $@

demo: $(VENV)/.installed
	$(BIN)/clearsight demo --case demo-case

serve: $(VENV)/.installed-server
	sh scripts/serve-case.sh $(BIN) "$(CASE)" "$(PORT)"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src tests

# One worker per core (pytest-xdist); a test file stays on one worker, and the
# PostgreSQL tests share one (tests/xdist_support.py).
pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n auto --dist loadfile

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/scan_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .bench
