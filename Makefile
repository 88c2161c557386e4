# Two commands on a fresh machine:  `make report`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test lint format lab bench clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: this takes the CPU wheel from local disk (a range pulls a CUDA build)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

report: $(STAMP)
	$(VENV)/bin/workbench report

test: lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# `make format` applies ruff's fixes for the rules `make lint` checks (import order, unused imports, ...).
# ruff's formatter is not used: it would re-wrap some 8,400 lines of the compact 120-column style.
format: $(STAMP)
	$(VENV)/bin/ruff check --fix .

lab: $(STAMP)
	$(PY) -m ipykernel install --sys-prefix --name continuum-workbench --display-name "continuum-workbench"
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	$(PY) benchmarks/profiler_repeatability.py

clean-venv:
	rm -rf $(VENV)
