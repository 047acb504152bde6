# Set-up is part of every target: a missing or stale .venv is (re)built from pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_HOME ?= $(CURDIR)/data/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# Prefect's temporary server can take longer than its default start-up wait on a busy 2-core machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p "$(PREFECT_HOME)"
	$(BIN)/reach-dq demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

# pytest exits 5 when no test carries the mark, which is not a failure here.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q || [ $$? -eq 5 ]

# About 6 minutes on 2 cores; rewrites docs/benchmarks.md, keeps its files in data/bench.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data/warehouse.duckdb data/warehouse.duckdb.wal data/warehouse.duckdb.lock data/docs data/prefect data/bench data/demo-findings.json data/nightly
