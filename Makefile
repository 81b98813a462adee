# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: up test lint types imports pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

up: $(VENV)/.installed  ## install into .venv and start Phantom with embedded defaults
	$(BIN)/phantom up

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-dev  ## one worker per core; a module's tests share a worker
	$(BIN)/pytest -n auto --dist loadfile

test: lint types imports pytest  ## install dev deps and run lint, types and the whole test suite

bench: $(VENV)/.installed-bench  ## run the benchmarks, write bench/results/*.json
	$(BIN)/python -m bench.eventstore
	$(BIN)/python -m bench.audit
	$(BIN)/python -m bench.auth  # its end-to-end half needs wrk (apt-get install wrk)
	$(BIN)/python -m bench.tracking
	$(BIN)/python -m bench.serving  # needs wrk too; MLflow in bench/.venvs/
	$(BIN)/python -m bench.drift  # Evidently in bench/.venvs/
	$(BIN)/python -m bench.privacy  # Presidio in bench/.venvs/

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
