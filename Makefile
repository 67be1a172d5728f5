# The two commands of the README:  make demo  and  make test
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

LOCK_PYTHON ?= 3.11
# requirements*.lock: every package pinned with its hashes, for every platform and Python >= 3.11
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version $(LOCK_PYTHON) \
    --generate-hashes --custom-compile-command "make lock"
# pip check names a dependency of pyproject.toml that the lock files miss (installed --no-deps)
CHECK_LOCK = out=$$($(BIN)/pip check) || { echo "$$out" >&2; \
    echo "requirements*.lock are older than pyproject.toml: run  make lock" >&2; exit 1; }

.PHONY: demo test install install-test lock benchmark translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

## The runtime packages exactly as requirements.lock pins them (hashes checked), then portal
## itself (its dependencies are all in the lock, hence --no-deps)
install: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(CHECK_LOCK)

## The same with the test packages: requirements-test.lock, plus the example outside plugin
install-test: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e . -e examples/portal-webhook-channel
	@$(CHECK_LOCK)

## Pin every package again from pyproject.toml (after editing its dependencies): first
## requirements-test.lock (runtime + test extra), then requirements.lock (runtime only, at the
## same versions). Pins that still fit are kept; UPGRADE=1 moves all to the newest allowed.
## uv does the resolving: installed here for this target only, the installs need only pip.
lock: $(BIN)/python
	$(BIN)/pip install --quiet 'uv~=0.13.9'
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) pyproject.toml --extra test -o requirements-test.lock
	$(UV_COMPILE) pyproject.toml --constraint requirements-test.lock -o requirements.lock

## Install everything (Pango and fonts for PDFs through apt when missing), load the demo
## data on SQLite (a year of history on a fresh database) and serve it on http://$(HOST):$(PORT)
# The demo sells from France with EU VAT on (issue 19): Librairie Papillon, a French
# business, pays domestic French VAT at 20 %; Northwind and Atelier (GB) are billed
# without VAT with the outside-EU mention (docs/decisions.md, "Taxes"). PORTAL_DEMO=1
# brings that seller and tax setting (portal/config.py, DEMO_SETTINGS), so the README's
# `PORTAL_DEMO=1 .venv/bin/portal billing run` bills as this server does.
DEMO_ENV = PORTAL_DEMO=1

demo: install
	scripts/system-packages --warn pdf
	$(DEMO_ENV) $(BIN)/portal demo
	$(DEMO_ENV) $(BIN)/portal run --host $(HOST) --port $(PORT)

## Install everything (Python packages; Pango, fonts, chromium, PostgreSQL through apt when
## missing) and run the whole test suite
test: install-test
	VENV=$(VENV) scripts/test

## Run every benchmark and print the table of docs/performance.md (see benchmarks/README.md)
benchmark: install-test
	scripts/system-packages pdf bench
	VENV=$(VENV) benchmarks/run

## Re-extract the UI strings (babel.cfg), merge them into each language's .po, compile the .mo
translations: install
	$(BIN)/pybabel extract -F babel.cfg --no-wrap --sort-by-file --project=portal \
	    --version="$$($(BIN)/python -c 'import portal; print(portal.__version__)')" \
	    --copyright-holder="the portal authors" --msgid-bugs-address=support@example.com \
	    -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations \
	    --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d portal/translations --statistics
