# MedReach: `make run` serves the demo at http://127.0.0.1:8000; `make test` runs the whole suite.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UI_STAMP := src/medreach/web/dist/index.html
UI_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.* frontend/package.json -type f 2>/dev/null)

.PHONY: run test test-sqlite install build-ui check-py check-ui demo serve bench clean

run: install build-ui
	$(BIN)/medreach db upgrade
	$(BIN)/medreach demo
	$(BIN)/medreach serve

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

build-ui: $(UI_STAMP)

$(UI_STAMP): frontend/node_modules/.package-lock.json $(UI_SOURCES)
	cd frontend && npm run build

# The checks, then the whole suite. Backends whose server is not reachable, and the browser tests when there is
# no Chromium, are skipped and named in the summary; MEDREACH_REQUIRE_BACKENDS=1 (set by .ci/run) turns either
# into a failure.
# The suite runs in PYTEST_WORKERS processes (pytest-xdist): a test file to a worker, the browser tests all in one; PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2
test: install check-py build-ui check-ui
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The Python checks over src/: ruff's lint and format, and mypy (their config is in pyproject.toml).
check-py: install
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/mypy

# The front end's checks: ESLint over frontend/src and the Vitest unit tests.
check-ui: frontend/node_modules/.package-lock.json
	cd frontend && npm run lint && npm run test:unit

test-sqlite: install
	$(BIN)/python -m pytest --backends=sqlite -m "not e2e" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) frontend/node_modules src/medreach/web/dist
