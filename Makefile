# Two commands: `make run` (the whole system, embedded) and `make test` (the whole suite).
# `make bench` measures the messaging runtime and writes docs/benchmarks.md;
# `make bench-roster` the roster import at district scale, `make bench-opening` the opening
# minute of conference week, `make bench-invitations` the invitations when a window opens (same
# file).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-roster bench-opening bench-invitations lint messages install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto -ra --durations=25

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The OneRoster import at district scale (500,000 students; several minutes).
bench-roster: $(STAMP)
	$(BIN)/python -m benchmarks.roster

# The opening minute of conference week: 20,000 families booking over HTTP on PostgreSQL
# (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test; a few minutes).
bench-opening: $(STAMP)
	$(BIN)/python -m benchmarks.opening_minute

# Invitations to 50,000 families when a window opens: event in, rendered, sent to a local SMTP
# server, recorded, on PostgreSQL (BENCH_POSTGRES_URL, as above; a few minutes).
bench-invitations: $(STAMP)
	$(BIN)/python -m benchmarks.invitations

# Family messages' and web pages' catalogs (docs/translations.md): the English of every message
# template and page template extracted into each one's messages.pot, and each language's .po
# brought up to date from it (new text untranslated or marked fuzzy for its translators; text no
# template has any more dropped).
NOTIFICATIONS := services/notifications
WEB := services/web
messages: $(STAMP)
	$(BIN)/pybabel extract -F $(NOTIFICATIONS)/babel.cfg --add-comments=Translators: \
		--project="Student-led conferences" \
		--copyright-holder="Student-led conferences contributors" \
		--width=100 -o $(NOTIFICATIONS)/locale/messages.pot $(NOTIFICATIONS)/templates
	$(BIN)/pybabel update -i $(NOTIFICATIONS)/locale/messages.pot -d $(NOTIFICATIONS)/locale \
		--width=100 --ignore-obsolete --previous
	$(BIN)/pybabel extract -F $(WEB)/babel.cfg --add-comments=Translators: \
		--project="Student-led conferences" \
		--copyright-holder="Student-led conferences contributors" \
		--width=100 -o $(WEB)/locale/messages.pot $(WEB)/templates
	$(BIN)/pybabel update -i $(WEB)/locale/messages.pot -d $(WEB)/locale \
		--width=100 --ignore-obsolete --previous

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services devstack

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
