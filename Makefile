# The two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint format bench bench-plan bench-report clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py src/funnelcli/_lane.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml setup.py src/funnelcli/_lane.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

$(BENCH_STAMP): pyproject.toml setup.py src/funnelcli/_lane.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(STAMP) $@

demo: $(STAMP)
	$(BIN)/funnel plan sample_funnels/b2b_saas.yaml --target 1.2M --confidence 90% --as-of 2026-12-01 --by 2027-03-31
	$(BIN)/funnel report examples/maven_pipeline.csv --funnel sample_funnels/maven_crm.yaml --as-of 2017-12-31

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix src tests benchmarks fuzz
	$(BIN)/ruff format src tests benchmarks fuzz

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache src/funnelcli/*.so

bench-plan: $(STAMP)
	$(BIN)/python -m benchmarks.plan_speed

bench-report: $(STAMP)
	$(BIN)/python -m benchmarks.report_speed

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

# Each reader's fuzz target for 300 s under hypothesis; crashes land in fuzz/crashes/.
fuzz: $(TEST_STAMP)
	$(BIN)/python -m fuzz.run --seconds 300
