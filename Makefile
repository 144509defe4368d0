# The two commands a newcomer runs: `make run` and `make test`. Both install what they need.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
CONFIG  ?= config/dev.yaml
DEMO_PORT ?= 4500

.PHONY: install run demo test lint lock system-deps bench fuzz clean

$(STAMP): pyproject.toml requirements-dev.lock
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "gatekeeper needs Python 3.11 or newer (found $$(python3 --version 2>&1))"; exit 1; }
	@python3 -m venv $(VENV) 2>/dev/null || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing python3-venv"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip uninstall -q -y passlib 2>/dev/null || true  # libpass (its maintained fork) installs the same module
	$(VENV)/bin/pip install -q --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## make run: gatekeeper on SQLite in front of the demo app (http://127.0.0.1:4455/)
run: install
	@mkdir -p var
	@$(PY) -m uvicorn demo.app:app --host 127.0.0.1 --port $(DEMO_PORT) --log-level warning & \
	  demo=$$!; trap 'kill $$demo 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/gatekeeper serve --config $(CONFIG) --dev --migrate

## system packages the tests drive for real: chromium (UI tests), nginx (decisions API), wrk (bench)
system-deps:
	@missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "installing:$$missing"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "not installing$$missing (needs root and apt-get): the tests that need them say so"; fi; \
	  fi

## make lint: style (ruff), the import rules of docs/architecture.md (import-linter), types (mypy)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: install system-deps lint
	$(VENV)/bin/pytest

bench: install system-deps
	$(PY) -m bench

## make fuzz: the hypothesis fuzzers `make test` runs briefly (fixed seeds), with many more examples each
FUZZ_EXAMPLES ?= 2000
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/pytest -q tests/dataplane/test_fuzz.py \
	  tests/proxy/test_h1_fuzz.py tests/access/test_fuzz_rules.py tests/identity/test_fuzz_bodies.py

## make lock: re-pin every dependency within pyproject.toml's ranges, with hashes: requirements.lock (what the
## image runs), requirements-dev.lock (the same pins plus the test and bench extras, what make installs)
lock:
	python3 -m venv .lock-venv && .lock-venv/bin/pip install -q uv
	.lock-venv/bin/uv pip compile -q pyproject.toml --extra test --extra bench --python-version 3.11 --generate-hashes \
	  -o requirements-dev.lock
	.lock-venv/bin/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes \
	  -c requirements-dev.lock -o requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) var tests/artifacts .pytest_cache
