# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
# the shared datasets when they sit beside the clone (tests that need them skip without them)
export SCARCE_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data))

.PHONY: demo test smoke clean help

help:
	@echo "make demo   - set up .venv (core + image extra), preview and run recipes/digits.yaml into runs/digits"
	@echo "make test   - set up .venv (all extras + pytest) and run the unit tests"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[image]"
	@touch $@

$(VENV)/.dev: $(VENV)/.core
	$(PIP) -e ".[dev]"
	@touch $@

demo: $(VENV)/.core
	$(VENV)/bin/scarce preview recipes/digits.yaml --out runs/digits
	$(VENV)/bin/scarce ablate recipes/digits.yaml --out runs/digits --jobs 2
	@echo "Open runs/digits/report.html (tables, plots and previews on one page), or results.md and the PNGs"

test: $(VENV)/.dev
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

smoke: $(VENV)/.core
	$(VENV)/bin/scarce ablate recipes/digits.yaml --smoke --out runs/digits-smoke --overwrite

clean:
	rm -rf runs .pytest_cache
