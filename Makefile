# Refloop: `make run` serves the demo, `make test` runs the whole suite. Nothing else by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench code clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py refloop_demo --if-empty
	$(PY) manage.py refloop_run

test: $(STAMP)
	scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	scripts/bench.sh

# The current two-factor code of a demo manager or admin: make code USER=manager
code: $(STAMP)
	@$(PY) manage.py refloop_demo_code $(USER)

clean:
	rm -rf $(VENV) var
