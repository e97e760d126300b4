# Self-documenting: `make help` lists every target with its `##` comment.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: help env run stop test lint docs format venv install install-dev migrate clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

venv: $(BIN)/python ## Create .venv

install: $(RUNTIME_STAMP) ## Install the runtime requirements into .venv

install-dev: $(DEV_STAMP) ## Install runtime + test/lint requirements into .venv

env: ## Write the local .env once (DEBUG on, a new SECRET_KEY), from .env.example
	@$(PYTHON) scripts/make_env.py

run: install ## .env, migrate, demo admin, sample ingest, a worker, serve on http://127.0.0.1:8000 (RUN_PORT)
	@BIN=$(BIN) bash scripts/run.sh || [ $$? -eq 143 ]  # 143: stopped by SIGTERM (kill PID, make stop): no make error

stop: ## Stop what make run started: the server, its worker, then the embedded PostgreSQL (unless in use)
	@$(BIN)/python scripts/stop.py

test: install-dev ## Run the whole test suite against a real PostgreSQL (embedded unless DB_HOST is set)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev ## ruff check, ruff format --check, mypy, deptry (every runtime import declared), import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy .
	$(BIN)/deptry .
	$(BIN)/lint-imports

docs: install-dev ## Build the documentation site strictly (a broken link or page fails) into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

format: install-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install ## Apply database migrations
	$(BIN)/python manage.py migrate --noinput

clean: ## Remove .venv and the embedded database (.data/)
	rm -rf $(VENV) .data site
