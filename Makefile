# make book   : set up what is missing, execute every notebook at PROFILE (default cpu), build the site
# make test   : run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= cpu

.PHONY: venv test test-fast book bench clean-book

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -q

test-fast: venv
	$(PY) -m pytest -q -m "not slow"

book: venv
	$(PY) -m pixelreg.book --profile $(PROFILE)

bench: venv
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_precision.py --max-runs 6 || echo "precision check skipped: it needs the cpu book's runs (make book)"

clean-book:
	rm -rf _build book/_generated book/_extra/data
