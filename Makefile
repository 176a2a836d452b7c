# Two set-up commands: `make demo` and `make test`. Each creates .venv and installs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all test-ray test-scip bench lint clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scmgym demo

# The suite without the tests marked slow (a few minutes); pytest reports how many it deselected.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

# The tests marked slow: statistical checks against published figures, every signal of the
# kill-and-resume tests, optimiser variants, the long reproduce runs (about 10 minutes).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The Ray backend's tests (an optional extra: installed here into the venv; skipped, and said so,
# by `make test` where Ray is not installed).
test-ray: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	$(BIN)/python -m pytest -q -n 0 -rs tests/test_ray.py tests/test_reproduce.py

# SCIP for the planning models (an optional extra: the SCIP test is skipped, and said so, by
# `make test` where pyscipopt is not installed).
test-scip: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,scip]'
	$(BIN)/python -m pytest -q -n 0 -rs tests/test_snp.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check scmgym tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
