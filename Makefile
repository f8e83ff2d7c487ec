# 12349 elder-care assistant. `make run` starts everything; `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
LOCKS := requirements/rasa-py311.lock requirements/app.lock
MODEL := models/current.tar.gz
export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install db train run lint test test-fast test-shifted-clocks call benchmark benchmark-nlu-cv system-deps clean

## install: the project venv from the pinned lock files (only when they change)
AXE := tests/browser/node_modules/axe-core/axe.min.js
install: $(STAMP) $(AXE)
$(STAMP): $(LOCKS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# Rasa 3.6 declares Python <3.11; both packages are pure Python (see ../shared/rasa-py311)
	$(BIN)/pip install -q --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2 jieba==0.42.1
	$(BIN)/pip install -q -r requirements/rasa-py311.lock -r requirements/app.lock
	touch $(STAMP)
# axe-core for the browser tests' accessibility gate, pinned in tests/browser/package-lock.json
# (npm dates unpacked files 1985, hence the touch)
$(AXE): tests/browser/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory system-deps
	@command -v npm >/dev/null || { echo "npm is missing: run make system-deps (as root), then make install"; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

## db: create/migrate the service database and load demo data when it is empty
db: install
	$(PY) -m bot.manage init

## train: train the Rasa model; Rasa's fingerprint check skips it when nothing changed
train: install
	$(BIN)/rasa train --fixed-model-name current --out models --quiet
	$(PY) -m bot.policy.meaning build

## run: the three processes under honcho; Ctrl-C stops all of them
## The internal servers' secrets (var/internal.env, 0600) are generated once and loaded for all.
run: install db train
	$(PY) scripts/internal_secrets.py
	@echo "Web widget:     http://localhost:$${WEB_PORT:-8000}/"
	@echo "Chat API:       http://localhost:$${WEB_PORT:-8000}/api/chat"
	@echo "Advisor console http://localhost:$${WEB_PORT:-8000}/advisor/"
	@echo "Health:         http://localhost:$${WEB_PORT:-8000}/healthz"
	@echo "Rasa:           http://localhost:$${RASA_PORT:-5005}   actions: http://localhost:$${ACTIONS_PORT:-5055}"
	set -a && . $${VAR_DIR:-var}/internal.env && set +a && $(PY) scripts/render_endpoints.py \
	  && exec $(BIN)/honcho -f Procfile start

## system-deps: Debian packages the tests need (chromium and a Chinese font for the browser
## tests, faketime for the shifted-clock runs); as root, once
SYSTEM_PACKAGES := chromium chromium-driver fonts-wqy-microhei faketime nodejs npm
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v faketime >/dev/null 2>&1 \
	    || ! command -v npm >/dev/null 2>&1 \
	    || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
	      || echo "system packages could not be installed: browser tests will be skipped"; \
	  else echo "chromium or fonts missing and not root: browser tests will be skipped"; fi; \
	fi

## lint: the gates before the tests: ruff (bugs, not style), the import contracts between the
## layers (import-linter) and type checks of bot/ (mypy), all set in pyproject.toml and
## described in docs/ARCHITECTURE.md; then Rasa's own check of the training data, domain and stories
lint: install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/mypy
	$(BIN)/rasa data validate --quiet

## test: the gates, then the whole suite: the e2e, browser and postgres tests at today's date
## (the model is trained once here and shared by every test), then the unit tests under shifted
## system clocks, so wall-clock reads fail the day they are written.
test: install system-deps lint train
	$(BIN)/pytest -m "e2e or browser or postgres" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-shifted-clocks

## test-shifted-clocks: the unit tests (everything but e2e, browser and postgres) with the system
## clock (UTC) faked by Debian's faketime to 23:55 China time on 31 December (a month's and a
## year's turn at once) and to 00:30 on 29 February 2028, two workers each
## (pytest-xdist). The suite pins its own clock (tests/conftest.py), so a result that changes
## here read the wall clock. `make test` runs the unit tests only here, not also at today's date.
SHIFTED_CLOCKS := "2026-12-31 15:55:00" "2028-02-28 16:30:00"
test-shifted-clocks: install
	@command -v faketime >/dev/null 2>&1 || { echo "faketime is not installed (make system-deps as root)"; exit 1; }
	@for moment in $(SHIFTED_CLOCKS); do \
	  echo "== unit tests with the system clock at $$moment UTC =="; \
	  TZ=UTC faketime -f "@$$moment" $(BIN)/pytest -q -p no:cacheprovider -n 2 \
	    -m "not e2e and not browser and not postgres" $(PYTEST_ARGS) || exit 1; \
	done

## test-fast: unit tests only (no servers)
test-fast: install
	$(BIN)/pytest -m "not e2e and not browser" $(PYTEST_ARGS)

## call: a phone call as text in the terminal, against `make run`
call: install
	$(PY) -m server.call_simulator $(CALL_ARGS)

## benchmark: NLU accuracy on the held-out file, chat latency/throughput, start-up and memory
## (figures only, no pass/fail; latest results and commands: benchmarks/RESULTS.md)
benchmark: install train
	$(PY) benchmarks/nlu_accuracy.py --model $(MODEL)
	$(PY) benchmarks/chat_latency.py
	$(PY) benchmarks/startup_memory.py

## benchmark-nlu-cv: pipeline comparison by k-fold cross-validation (slow: minutes per fold)
benchmark-nlu-cv: install
	$(PY) benchmarks/nlu_crossval.py --config config.yml --folds 5
	$(PY) benchmarks/nlu_crossval.py --config benchmarks/configs/diet.yml --folds 3

clean:
	rm -rf var models .rasa test-output
