# The two commands: `make run` serves the portal with demo data on http://127.0.0.1:8000,
# `make test` runs the whole suite. Both build .venv on first use from the lock files in
# requirements/ (exact versions, checked by hash); `make deps-upgrade` refreshes them from the
# ranges in pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The web server: daphne or uvicorn (config/serve.py runs either with the app's limits).
SERVER ?= daphne

.PHONY: run test lint format deps-upgrade clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Atrium needs Python 3.11 or newer; set PYTHON=python3.X")'
	$(PYTHON) -m venv $(VENV)

PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# The locked dependencies first (all of them listed, so no resolver runs), then Atrium itself.
LOCKED_INSTALL = $(PIP) install --require-hashes --no-deps -r $(1) && $(PIP) install --no-deps -e .

$(VENV)/.installed-run: pyproject.toml requirements/app.txt | $(BIN)/python
	$(call LOCKED_INSTALL,requirements/app.txt)
	@touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.txt | $(BIN)/python
	$(call LOCKED_INSTALL,requirements/test.txt)
	@touch $@ $(VENV)/.installed-run

# E-mailed links point at the address served, unless ATRIUM_BASE_URL says otherwise.
run: export ATRIUM_BASE_URL ?= http://$(if $(filter 0.0.0.0 ::,$(HOST)),$(shell hostname),$(HOST)):$(PORT)
run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Atrium is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@# The task worker (e-mail digests) runs beside the server and stops with it.
	$(BIN)/python manage.py db_worker --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -m config.serve --server $(SERVER) --bind $(HOST) --port $(PORT)

# The suite runs on every core (pytest-xdist); TEST_WORKERS=0 runs it in this one process.
# Work stealing: a worker that runs out of tests takes half of what another has left, so no
# core idles while one worker finishes a long queue (tests/conftest.py puts the slowest first).
TEST_WORKERS ?= auto
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-resolve the newest versions pyproject.toml allows, for every Python from 3.11 on, with
# hashes. Review the diff, run the suite, commit both files.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --upgrade --quiet
deps-upgrade: | $(BIN)/python
	$(PIP) install 'uv>=0.5,<1'
	$(UV_COMPILE) -o requirements/app.txt
	$(UV_COMPILE) --extra test -o requirements/test.txt
	rm -f $(VENV)/.installed-run $(VENV)/.installed-test

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
