# The two commands of the README:  make demo  and  make test
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test install install-test benchmark translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]' -e examples/portal-webhook-channel

## Install everything (Pango and fonts for PDFs through apt when missing), load the demo
## data on SQLite (a year of history on a fresh database) and serve it on http://$(HOST):$(PORT)
demo: install
	scripts/system-packages --warn pdf
	PORTAL_DEMO=1 $(BIN)/portal demo
	PORTAL_DEMO=1 $(BIN)/portal run --host $(HOST) --port $(PORT)

## Install everything (Python packages; Pango, fonts, chromium, PostgreSQL through apt when
## missing) and run the whole test suite
test: install-test
	VENV=$(VENV) scripts/test

## Run every benchmark and print the table of docs/performance.md (see benchmarks/README.md)
benchmark: install-test
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
