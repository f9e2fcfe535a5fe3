# Kintsugi: `make run` starts everything, `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Webhook URLs and email links point at the port the app runs on, unless SITE_URL says otherwise.
SITE_URL ?= http://127.0.0.1:$(PORT)
# The worker announces it is up by creating this file; the banner waits for it.
WORKER_READY_FILE := $(or $(KINTSUGI_VAR_DIR),var)/worker.ready

.PHONY: run test lint suite browser clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@rm -f "$(WORKER_READY_FILE)"
	@echo "Starting the web server, a worker and beat; the URL and sign-ins follow once they are up."
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) SITE_URL=$(SITE_URL) KINTSUGI_WEB_URL=http://127.0.0.1:$(PORT) \
		KINTSUGI_WORKER_READY_FILE="$(WORKER_READY_FILE)" $(BIN)/honcho start

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
