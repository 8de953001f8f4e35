# The README's two commands: `make demo` and `make test`. Each creates its own virtualenv.
# The tests run in TEST_WORKERS parallel processes (pytest-xdist): most of them wait on real servers and
# subprocesses rather than compute, so a 2-core machine runs three at once.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TEST_WORKERS ?= 3
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "sidequest needs Python >= 3.11"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/orders/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples bench
	$(VENV)/bin/ruff format --check src tests examples bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS)

test: lint typecheck unit

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/sqlite_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
