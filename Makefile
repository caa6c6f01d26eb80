# The two commands of the README: `make demo` (install + main job) and `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export NBA_PRECOMPUTE_WAREHOUSE ?= .nba_precompute/warehouse.duckdb
export DAGSTER_HOME ?= $(CURDIR)/.nba_precompute/dagster_home

.PHONY: install demo test dev clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/nba-precompute demo

test: install
	$(BIN)/dagster definitions validate -m nba_precompute.definitions
	$(BIN)/pytest $(PYTEST_ARGS)

dev: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -h 127.0.0.1

clean:
	rm -rf .nba_precompute
