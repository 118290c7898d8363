# The two commands a new user runs: `make demo` and `make test`.
# Both install exact versions with hashes from requirements/*.lock (README, Development).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
LATEST := .venv-latest
LOCK_TOOLS := .venv-lock
# uv resolves the lock (`make lock`); pip alone installs from it, so users need no uv.
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet
PIP_INSTALL := $(BIN)/python -m pip install --quiet --no-input
# Under `make test` the compiled lane is part of what is tested when a C compiler is here:
# its tests fail, rather than skip, if it did not build.
REQUIRE_COMPILED := $(shell command -v cc >/dev/null 2>&1 && echo 1 || echo 0)

.PHONY: demo test test-latest lint format lock bench bench-plan bench-report clean fuzz screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The package itself goes in without build isolation, so its build uses the locked setuptools.
$(STAMP): requirements/runtime.lock pyproject.toml setup.py src/funnelcli/_lane.c | $(BIN)/python
	$(PIP_INSTALL) --require-hashes -r requirements/runtime.lock
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(TEST_STAMP): requirements/test.lock $(STAMP)
	$(PIP_INSTALL) --require-hashes -r requirements/test.lock
	touch $@

demo: $(STAMP)
	$(BIN)/funnel plan sample_funnels/b2b_saas.yaml --target 1.2M --confidence 90% --as-of 2026-12-01 --by 2027-03-31
	$(BIN)/funnel report examples/maven_pipeline.csv --funnel sample_funnels/maven_crm.yaml --as-of 2017-12-31
	$(BIN)/funnel report examples/hubspot_deals.csv --as-of 2026-12-01

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks fuzz docs
	$(BIN)/ruff format --check src tests benchmarks fuzz docs
	$(BIN)/mypy

test: lint
	FUNNEL_REQUIRE_COMPILED=$(REQUIRE_COMPILED) $(BIN)/pytest

# The newest releases the pyproject.toml ranges allow, in a separate environment: run it
# before `make lock`, monthly, and when a dependency announces a release, so drift is found
# here before a user's `pip install funnelcli` meets it.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[test,bench]'
	$(LATEST)/bin/python -m pip list --format=freeze > $(LATEST)/versions.txt
	$(LATEST)/bin/ruff check src tests benchmarks fuzz docs
	$(LATEST)/bin/ruff format --check src tests benchmarks fuzz docs
	$(LATEST)/bin/mypy
	FUNNEL_REQUIRE_COMPILED=$(REQUIRE_COMPILED) $(LATEST)/bin/pytest -p no:cacheprovider

# Regenerate both locks from pyproject.toml's ranges (one resolution for Python 3.11-3.13);
# the runtime lock is constrained by the test lock, so `make demo` then `make test` never
# change a version.
lock:
	test -x $(LOCK_TOOLS)/bin/uv || ($(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION))
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml requirements/build.in --extra test --extra bench $(LOCK_FLAGS) -o requirements/test.lock
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml requirements/build.in -c requirements/test.lock $(LOCK_FLAGS) -o requirements/runtime.lock

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix src tests benchmarks fuzz docs
	$(BIN)/ruff format src tests benchmarks fuzz docs

clean:
	rm -rf $(VENV) $(LATEST) $(LOCK_TOOLS) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache src/funnelcli/*.so

bench-plan: $(STAMP)
	$(BIN)/python -m benchmarks.plan_speed

bench-report: $(STAMP)
	$(BIN)/python -m benchmarks.report_speed

# The baselines (duckdb, pandas) are in the test lock: `make bench` measures what `make test` checks.
bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks.run

# Each reader's fuzz target for 300 s under hypothesis; crashes land in fuzz/crashes/.
fuzz: $(TEST_STAMP)
	$(BIN)/python -m fuzz.run --seconds 300

# The README's pictures of the HTML report and plan (docs/report.png, docs/plan.png), taken
# by the system's Chromium through playwright at 1280 pixels wide.
screenshots: $(TEST_STAMP)
	$(BIN)/python docs/screenshots.py
