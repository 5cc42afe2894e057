# Two entry points: `make run` (set up and serve) and `make test` (set up and run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install chromium run test docs lint evaluate bench audit

# Browser tests drive Debian's Chromium (Playwright downloads nothing); a clean CI machine lacks it.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

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

chromium:
	test -x $(CHROMIUM) || ($(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

# Pages with generated parts (the rule table in docs/policies.md is written from the packs).
COGGED := docs/policies.md

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/cog -I . --check --check-fail-msg="run make docs" $(COGGED)
	$(BIN)/python -m pytest

docs: install
	$(BIN)/cog -I . -r $(COGGED)

evaluate: install
	$(BIN)/python -m classifier evaluate --compare reports/previous-model-validation.jsonl --compare-name "Previous model (0ad0ad85f018)"

bench: install
	$(BIN)/python bench/classify.py

# Needs the real PyPI JSON API; --strict makes "could not be audited" a failure instead of a silent pass.
audit: install
	$(BIN)/pip-audit --strict -r requirements.txt
	$(BIN)/bandit --ini .bandit -r . --severity-level medium
