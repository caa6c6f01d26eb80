# The two commands of the README: `make demo` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export NBA_PRECOMPUTE_WAREHOUSE ?= .nba_precompute/warehouse.duckdb
export DAGSTER_HOME ?= $(CURDIR)/.nba_precompute/dagster_home

.PHONY: install home demo test dev bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

install: $(BIN)/.installed

# The Dagster instance shared by the CLI, `make dev` and the tests' validate step.
home: install
	$(BIN)/python -c "from nba_precompute.instance import dagster_home; dagster_home()"

# The demo's partitions are the demo season (nba_precompute/partitions.py); `make dev` uses the same
# bounds so the UI shows the runs of `make demo`. For real seasons: make dev DEMO_SEASON=
DEMO_SEASON ?= NBA_PRECOMPUTE_START_DATE=2021-10-19 NBA_PRECOMPUTE_END_DATE=2022-04-10

demo: home
	$(DEMO_SEASON) $(BIN)/nba-precompute demo --allow-gaps

test: home
	$(BIN)/dagster definitions validate -w workspace.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest $(PYTEST_ARGS)

dev: home
	$(DEMO_SEASON) VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/python benchmarks/backfill.py

clean:
	rm -rf .nba_precompute
