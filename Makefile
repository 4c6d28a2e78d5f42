# `make run` and `make test` each build .venv from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench bench-season bench-central clean

STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m safetycli.demo

# The browser tests need Chromium and the central-store tests PostgreSQL's server: each installed
# when missing, and under `make test` those tests fail rather than skip if it is not there
# (SAFETYCLI_REQUIRE_BROWSER, SAFETYCLI_REQUIRE_POSTGRES).
test: $(STAMP)
	./scripts/require-test-tools
	$(BIN)/ruff check safetycli tests bench
	$(BIN)/ruff format --check safetycli tests bench
	SAFETYCLI_REQUIRE_BROWSER=1 SAFETYCLI_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check safetycli tests bench
	$(BIN)/ruff format --check safetycli tests bench

format: $(STAMP)
	$(BIN)/ruff format safetycli tests bench
	$(BIN)/ruff check --fix safetycli tests bench

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/signoff.py

# A season's log (1,000,000 events, about 3 minutes): list, report and verify against it.
bench-season: $(STAMP)
	$(BIN)/python bench/season.py

# Twenty laptops push a season (1,000,000 events in all) into one server; the day list and report
# read from it beside one laptop's SQLite (a throwaway PostgreSQL unless CENTRAL names one).
bench-central: $(STAMP)
	cd bench && ../$(BIN)/python central.py $(if $(CENTRAL),--central $(CENTRAL))

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
