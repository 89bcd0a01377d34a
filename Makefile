# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo cluster-demo test lint docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/worker_pool.py

# Three runner processes on a throwaway PostgreSQL server, watched live for 20 s, one killed
# at half time (~30 s in all); needs PostgreSQL's server binaries, as `make test` does.
cluster-demo: $(STAMP)
	@.ci/ensure-postgres
	$(BIN)/python examples/cluster_demo.py

test: $(STAMP)
	@.ci/ensure-postgres
	$(BIN)/ruff check actors tests examples
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check actors tests examples
	$(BIN)/ruff format --check actors tests examples
	$(BIN)/mypy

$(VENV)/.installed-docs: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $@

# The documentation site (mkdocs-material, API reference by mkdocstrings) into site/, strict:
# any warning (a broken link, a bad anchor, a docstring mkdocstrings cannot read) fails it.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean -f docs/mkdocs.yml

$(VENV)/.installed-bench: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# The comparisons against APScheduler, and the executors side by side (~19 min; QUICK=1 for
# ~5 min): prints tables, writes docs/performance.md.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m tests.bench $(if $(filter-out 0,$(QUICK)),--quick)

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache
