# The README's two commands: `make run` and `make test`. Both are idempotent and do all the set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit system-deps services venv clean bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	scripts/ensure-python-venv.sh $(PYTHON)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	scripts/install-system-deps.sh

services: system-deps
	scripts/start-dockerd.sh
	scripts/build-test-images.sh

run: venv system-deps
	-scripts/start-dockerd.sh && scripts/build-test-images.sh
	$(BIN)/skiff up

lint: venv
	$(BIN)/ruff check skiff tests bench
	$(BIN)/ruff format --check skiff tests bench
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q

test: venv services lint
	$(BIN)/pytest -q

bench: venv services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
