# rbm-billing — the single entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
# Inputs of `make run` (SPEC §8): MESSAGES, AGENTS, ACTIVITY, CARRIER, CARRIERS and OUTPUT are passed on only when
# given. Without MESSAGES and ACTIVITY the run bills the bundled demo data (data/demo), without AGENTS with its
# agents, without CARRIERS (your own carriers file, SPEC §1) by the seed seeds/carriers.csv, without OUTPUT into
# output/. One given but empty (AGENTS="$$AGENTS_FILE" with that shell variable unset) stops the run with an error.
run_option = $(if $(filter undefined,$(origin $(1))),,--$(2)="$($(1))")
TARGET ?= duckdb
# FULL_REFRESH=1 rebuilds everything from the input files (0, false, no or empty: a daily run).
FULL_REFRESH ?=
NO := 0 false False FALSE no No NO off Off OFF
# Database of `make test`, kept apart from the one of `make run`.
TEST_DB := target/test/rbm_test.duckdb

.PHONY: help run test lint dbt-test pytest bench test-spark docs clean clean-data

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# The virtual environment, created from the pinned versions only when missing or outdated.
$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The Spark extras (TARGET=spark, test-spark; README "Spark"), installed on demand into the same environment.
$(VENV)/.spark-installed: requirements-spark.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.txt -r requirements-spark.txt
	touch $@

run: $(VENV)/.installed $(if $(filter spark,$(TARGET)),$(VENV)/.spark-installed)  ## build the billing and write the reports (MESSAGES= AGENTS= OUTPUT= TARGET= ACTIVITY= CARRIER= CARRIERS=)
	$(BIN)/python scripts/rbm.py run $(RUN_OPTIONS)

# The options given (one line, so that make echoes the command as it runs it).
RUN_OPTIONS = $(call run_option,MESSAGES,messages) $(call run_option,AGENTS,agents) \
	$(call run_option,OUTPUT,output) --target="$(TARGET)" $(call run_option,ACTIVITY,activity) \
	$(call run_option,CARRIER,carrier) $(call run_option,CARRIERS,carriers) \
	$(if $(filter-out $(NO),$(FULL_REFRESH)),--full-refresh)

test: lint dbt-test pytest  ## lint + every dbt test + every Python test

lint: $(VENV)/.installed  ## sqlfluff on the models and singular tests (macros: as rendered in the models that call them)
	$(BIN)/sqlfluff lint models tests/dbt

# Twice: on a new database, then with --full-refresh on the built one (dbt's own rebuild command must pass too).
dbt-test: $(VENV)/.installed  ## every dbt unit and data test, on the test fixtures
	rm -f $(TEST_DB) && mkdir -p $(dir $(TEST_DB))
	RBM_DUCKDB_PATH=$(TEST_DB) $(DBT) build --profiles-dir . --target duckdb \
		--vars '{messages_path: tests/fixtures/messages.csv, agents_path: tests/fixtures/agents.csv}'
	RBM_DUCKDB_PATH=$(TEST_DB) $(DBT) build --profiles-dir . --target duckdb --full-refresh \
		--vars '{messages_path: tests/fixtures/messages.csv, agents_path: tests/fixtures/agents.csv}'

# In parallel (pytest-xdist, one process per core, at most 4): most of a test's time is dbt's own single-threaded
# start-up and parse (tests/python/conftest.py gives each process its own dbt target/ and logs/). The 25 slowest
# tests are listed at the end (--durations): where CI's time goes, for whoever shortens it.
pytest: $(VENV)/.installed  ## every Python test (reference, cross-check, CLI, generator)
	$(BIN)/python -m pytest tests/python -q -n auto --maxprocesses 4 --durations=25

# Spark (README "Spark"): every dbt unit and data test on the test fixtures on a local Spark, then DuckDB and
# Spark runs compared (tests/python/test_spark.py). Each Spark run has its own warehouse (RBM_SPARK_DIR).
# dbt's target/ and logs/ and DuckDB's spill folder of its own, so that it can run beside `make test` (.ci/run).
# Its JVMs are short and their data small: C1 JIT only (RBM_SPARK_JAVA_OPTIONS) starts them faster. C1 alone gets a
# 48 MB code cache by default (240 MB with both JITs), which Spark's generated code filled once (thirteenth session:
# "Out of space in CodeCache" in a unit test): the default size is given back.
SPARK_TEST_DIR := target/test-spark
SPARK_TEST_ENV := DBT_TARGET_PATH=$(CURDIR)/$(SPARK_TEST_DIR)/dbt_target DBT_LOG_PATH=$(CURDIR)/$(SPARK_TEST_DIR)/dbt_logs \
	RBM_DUCKDB_TEMP_DIR=$(CURDIR)/$(SPARK_TEST_DIR)/duckdb_tmp \
	RBM_SPARK_JAVA_OPTIONS="-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"

test-spark: $(VENV)/.spark-installed  ## the dbt tests on Spark, and DuckDB and Spark write identical files (Java 17)
	rm -rf $(SPARK_TEST_DIR) && mkdir -p $(SPARK_TEST_DIR)
	$(SPARK_TEST_ENV) RBM_SPARK_DIR=$(SPARK_TEST_DIR) $(DBT) build --profiles-dir . --target spark \
		--vars '{messages_path: tests/fixtures/messages.csv, agents_path: tests/fixtures/agents.csv}'
	$(SPARK_TEST_ENV) RBM_SPARK_TESTS=1 $(BIN)/python -m pytest tests/python/test_spark.py -q

# Messages of `make bench` (N=10000000 for 10M; results in bench/results.md).
N ?= 1000000

bench: $(VENV)/.installed  ## benchmark: floor, full run, one-day increment, single stream, Python peer (N=)
	$(BIN)/python bench/bench.py --messages $(N)

docs: $(VENV)/.installed  ## generate the dbt docs site (target/index.html)
	$(DBT) docs generate --profiles-dir .

# `clean` keeps what a run made that cannot be made again from the inputs (user trial, eighteenth session: it deleted
# the default database and output/): the restatement log and each report file's final/provisional history.
clean:  ## remove build products: dbt's target/ and logs/, DuckDB's spill folder (not the database, reports or venv)
	rm -rf target logs .duckdb_tmp derby.log

clean-data:  ## DELETE the default database (DuckDB and Spark), its state file and output/: reports, restatement log, history
	rm -rf output rbm_billing.duckdb rbm_billing.duckdb.wal rbm_billing.duckdb.rbm-state.json rbm_billing.duckdb.rbm-lock spark-warehouse spark-warehouse.rbm-state.json spark-warehouse.rbm-lock metastore_db
