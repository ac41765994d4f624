# make book              : the published book (profile full) from the committed records: no dataset, no training
# make book PROFILE=cpu  : the from-scratch check: trains the cpu profile's runs (needs Fashion-MNIST), then builds
# make test              : every test, slow ones included; lists the ten slowest
# make test-fast         : the tests not marked slow (no end-to-end training, notebooks or book build), on every core
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= full

.PHONY: venv test test-fast book bench clean-book

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pixelreg.kernel_log >/dev/null  # kernels drop their one unencrypted-TCP warning
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -q --durations=10

test-fast: venv
	$(PY) -m pytest -q -n auto -m "not slow" --durations=10

book: venv
	$(VENV)/bin/pixelreg book --profile $(PROFILE)

bench: venv
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_precision.py --max-runs 6 || echo "precision check skipped: it needs the cpu book's runs (make book)"

clean-book:
	rm -rf _build book/_generated book/_extra/data
