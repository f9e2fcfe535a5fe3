# Kintsugi: `make run` starts everything, `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint suite browser clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Kintsugi is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as demo / kintsugi-demo"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# Page tests drive Debian's Chromium; install it once when it is missing.
browser:
	@test -x /usr/bin/chromium || scripts/install-chromium

suite: $(BIN)/.installed browser
	$(BIN)/pytest

test: lint suite

clean:
	rm -rf var/ .pytest_cache
