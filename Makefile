# `make run` and `make test` each build .venv from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-tools lint format catalogs bench bench-season bench-central clean

STAMP := $(VENV)/.installed

# The install also builds verify's compiled chain scan (hatch_build.py): again when its source
# changes.
$(STAMP): pyproject.toml hatch_build.py safetycli/native/chainscan.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m safetycli.demo

# The browser tests need Chromium, the central-store tests PostgreSQL's server, and the compiled
# chain scan's tests a C compiler (before the install, which builds it): each installed when
# missing, and under `make test` those tests fail rather than skip if it is not there
# (SAFETYCLI_REQUIRE_BROWSER, SAFETYCLI_REQUIRE_POSTGRES, SAFETYCLI_REQUIRE_NATIVE).
test: test-tools $(STAMP)
	$(BIN)/ruff check safetycli tests bench
	$(BIN)/ruff format --check safetycli tests bench
	SAFETYCLI_REQUIRE_BROWSER=1 SAFETYCLI_REQUIRE_POSTGRES=1 SAFETYCLI_REQUIRE_NATIVE=1 \
		$(BIN)/python -m pytest

test-tools:
	./scripts/require-test-tools

lint: $(STAMP)
	$(BIN)/ruff check safetycli tests bench
	$(BIN)/ruff format --check safetycli tests bench

format: $(STAMP)
	$(BIN)/ruff format safetycli tests bench
	$(BIN)/ruff check --fix safetycli tests bench

# For translators: gather every message of the tool (Python and the report's template) into the
# template safetycli/locale/safetycli.pot and merge it into each language's .po, where new and
# changed messages wait (empty or fuzzy) for a translator. The .mo files are compiled by the build
# (hatch_build.py); this target compiles them too, so a new translation shows at once.
CATALOG := safetycli/locale/safetycli.pot
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -c Translators: --sort-output --add-location=file -w 100 \
		--project safetycli --version 0.1.0 -o $(CATALOG) safetycli
	$(BIN)/pybabel update -i $(CATALOG) -d safetycli/locale -D safetycli -w 100 \
		--ignore-obsolete
	$(BIN)/pybabel compile -d safetycli/locale -D safetycli --statistics

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
