# ccgraph: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run install install-test test lint format schema schema-check http-audit scim-check bench clean graphiql-assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

## GraphiQL's React, ReactDOM and GraphiQL files: from the npm registry once, checked against
## src/ccgraph/graphiql/assets.json; a no-op when they are there and intact.
graphiql-assets: | $(BIN)/python
	$(BIN)/python scripts/fetch_graphiql.py

install: $(VENV)/.installed graphiql-assets

install-test: $(VENV)/.installed-test graphiql-assets

## Migrate the embedded database, load the demo organisation if empty, serve GraphiQL.
run: install
	$(BIN)/ccgraph init
	$(BIN)/ccgraph demo
	$(BIN)/ccgraph serve --host $(HOST) --port $(PORT)

## The whole suite (PostgreSQL too when CCGRAPH_TEST_DATABASE_URL is set), over the machine's
## cores (pytest-xdist); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
test: install-test
	$(BIN)/pytest -n $(TEST_WORKERS)

## ruff, ruff format --check and mypy (with Strawberry's plugin): all must be clean.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-test
	$(BIN)/ruff format .

## Regenerate the checked-in SDL.
schema: install
	$(BIN)/ccgraph export-schema --output schema.graphql

## schema.graphql against the last release's (releases/): every breaking change must be in CHANGELOG.md.
schema-check: install
	$(BIN)/python scripts/schema_check.py

## graphql-http's GraphQL-over-HTTP audit against a live server (needs Node and npm).
http-audit: install
	$(BIN)/python scripts/graphql_http_audit.py

## SCIM conformance: scim2-tester against a live ccgraph (temporary SQLite), with its figures.
scim-check: install-test
	$(BIN)/python scripts/scim_check.py

bench: install-test
	$(BIN)/python bench/import_users.py
	$(BIN)/python bench/hot_path.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/subscriptions.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/stall.py

clean:
	rm -rf $(VENV) ccgraph.db ccgraph.db-wal ccgraph.db-shm .pytest_cache .ruff_cache .mypy_cache .hypothesis
	rm -rf src/ccgraph/graphiql/static/vendor test-artifacts
