# Two entry points: `make run` (set up and serve) and `make test` (set up and run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint evaluate bench

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/flask --app app init-db
	$(BIN)/flask --app app classifier train
	$(BIN)/flask --app app users seed-demo
	INTAKE_PRELOAD_MODEL=true $(BIN)/gunicorn --config gunicorn.conf.py "app:create_app()"

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

evaluate: install
	$(BIN)/python -m classifier evaluate

bench: install
	$(BIN)/python bench/classify.py
