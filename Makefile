# SIGEC-VE: `make run` serves on embedded defaults, `make test` runs the whole suite.
# Both create .venv if it is missing and (re)install the project when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

EXI_JAR := $(VENV)/share/sigec-exi/EXICodec.jar

.PHONY: run test lint typecheck bench soak clean-venv help exi-codec

help:
	@echo "make run    - set up .venv and run the server on embedded PostgreSQL and NATS"
	@echo "make test   - set up .venv with the dev extra and run the test suite"
	@echo "make lint   - ruff;  make typecheck - mypy --strict;  make bench - benchmarks"
	@echo "make soak   - the long fault suite, then a 10-minute soak (report in bench/out/)"
	@echo "make exi-codec - the ISO 15118-2 EXI codec jar (from PyPI iso15118, checksummed)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

# Plug & Charge EXI (docs/pki.md): EXIficient's EXICodec.jar out of the pinned iso15118 wheel,
# SHA-256 checked, into the venv; it runs on Java 11+ (a JDK: ExiServer.java runs as source).
exi-codec: $(EXI_JAR)

$(EXI_JAR): sigec_actors/pki/exi/install.py | $(BIN)/python
	$(BIN)/python sigec_actors/pki/exi/install.py $@

run: $(VENV)/.installed $(EXI_JAR)
	$(BIN)/sigec serve

test: $(VENV)/.installed-dev $(EXI_JAR)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check sigec_actors api tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

# The long versions of tests/fault (marker soak), then a 10-minute soak of 1,000 stations.
SOAK_ARGS ?= --duration 600 --stations 1000
soak: $(VENV)/.installed-dev
	SIGEC_SOAK=1 $(BIN)/python -m pytest tests/fault -m soak $(PYTEST_ARGS)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean-venv:
	rm -rf $(VENV)
