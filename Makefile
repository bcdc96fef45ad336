# The two commands: `make run` (install, migrate, demo data when empty, serve with a worker)
# and `make test` (the whole suite). Both work on a fresh machine with python3 >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install run test lint messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/estatecrm migrate --noinput
	$(BIN)/estatecrm collectstatic --noinput --verbosity 0
	$(BIN)/estatecrm demo --if-empty
	$(BIN)/estatecrm purge-trash
	$(BIN)/estatecrm serve

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Extract UI strings into the catalogues (needs GNU gettext), then compile them.
messages: install
	cd src/estatecrm && ../../$(BIN)/estatecrm makemessages -l ja -l en --no-obsolete --ignore='tests/*' --ignore='*/tests/*'
	cd src/estatecrm && ../../$(BIN)/estatecrm compilemessages

clean:
	rm -rf $(VENV) var/static
