# Two commands on a fresh machine: `make run` and `make test` (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= ./data

.PHONY: install run test lint typecheck unit demo-data bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/genius-wh --data-dir $(DATA_DIR) serve

lint: $(STAMP)
	$(BIN)/ruff check genius_wh ingest transform warehouse tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

demo-data: $(STAMP)
	$(BIN)/genius-wh --data-dir $(DATA_DIR) simulate --out $(DATA_DIR)/demo-events.jsonl --count 20000 --seed 7
	$(BIN)/genius-wh --data-dir $(DATA_DIR) replay $(DATA_DIR)/demo-events.jsonl
	$(BIN)/genius-wh --data-dir $(DATA_DIR) batch

bench: $(STAMP)
	$(BIN)/python bench/receiver.py --rounds 5
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
