# Two commands for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned: 2.13.0 is the CPU build that lies on these machines; an unpinned one pulls CUDA.
TORCH := torch==2.13.0

.PHONY: demo test install install-dev browser clean bench bench-hot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train,dev,dask,service]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# The browser tests open the HTML reports in Debian's headless Chromium. Where it cannot be installed
# (no root, no sudo), they are reported as skipped with the reason, never silently passed.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	elif sudo -n true 2>/dev/null; then sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "warning: cannot install Debian's chromium and chromium-driver here; the browser tests will be skipped"; fi

demo: install
	rm -rf out
	$(BIN)/samtaleanalyse score examples --out out; status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi
	@echo "Results in out/: report.html (dashboard), feedback/*.html, conversations.jsonl, *.parquet, errors.jsonl, summary.json"

test: install-dev browser
	$(BIN)/python -m pytest -q

# Benchmarks (issue 12): the side-by-side runner appends to benchmarks/RESULTS.md (ARGS: e.g. --rounds 5,
# --model models/turns-e5-int8, --scaling); bench-hot times the hot functions. Neither is part of `make test`.
bench: install-dev
	$(BIN)/python benchmarks/perf.py $(ARGS)

bench-hot: install-dev
	$(BIN)/python -m pytest -q benchmarks/test_hot.py --benchmark-only $(ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache
