# Two commands on a fresh machine: `make run` and `make test` (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install dev run test lint typecheck unit docs demo-data bench clean

# the product alone: what production needs (no test or lint tools)
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# the product plus the dev extras (pytest, mypy, ruff, notebook tools)
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/genius-wh --data-dir $(DATA_DIR) serve --host $(HOST) --port $(PORT)

lint: $(DEV_STAMP)
	$(BIN)/ruff check genius_wh ingest transform warehouse wallboard orchestration tests bench scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/pytest

test: lint typecheck unit

docs: $(STAMP)
	$(BIN)/python scripts/readme.py

demo-data: $(STAMP)
	$(BIN)/genius-wh --data-dir $(DATA_DIR) simulate --out $(DATA_DIR)/demo-events.jsonl --count 20000 --seed 7
	$(BIN)/genius-wh --data-dir $(DATA_DIR) replay $(DATA_DIR)/demo-events.jsonl
	$(BIN)/genius-wh --data-dir $(DATA_DIR) batch

bench: $(STAMP)
	$(BIN)/python bench/receiver.py --rounds 5
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
