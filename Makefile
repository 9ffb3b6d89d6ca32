# Kefu Pulse — local stack and checks. Contract: ../shared/spec/local-stack.md.
# Every target honours the KEFU_* variables (ports, replicas, workers, data dir); see deploy/local/stack.sh.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

STACK := deploy/local/stack.sh
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: run setup up down status test test-unit test-web chaos fuzz lint bench clean

## set-up + up + wall/console URLs and tokens + the Double-11 simulator; Ctrl-C stops everything
run:
	@$(STACK) run

## venv, Python deps, redis-server, Java/Maven, Kafka jars, web build (idempotent, quick when done)
setup:
	@$(STACK) setup

## start Kafka, Redis, worker(s), API replica(s) in the background; returns when /readyz?processing=true is 200
## (the workers process every partition: the first event is processed at once)
up:
	@$(STACK) up

## stop everything `up` started
down:
	@$(STACK) down

status:
	@$(STACK) status

## the whole test suite (tests start their own stack on free ports via the `stack` fixture), web checks first
test: setup test-web
	$(PY) -m pytest -q $(PYTEST_ARGS)

## the fast loop: the tests that need no stack, no browser and no fault injection
test-unit: setup
	$(PY) -m pytest -q -m "not integration and not browser and not chaos" $(PYTEST_ARGS)

## the web's own checks: eslint and the vitest unit tests in web/test (npm ci first when needed)
test-web:
	@$(STACK) web-deps
	cd web && npm run lint --silent && npm test --silent

## fault tests: worker kill -9, two workers with one killed, broker/Redis/API restarts, one of three brokers
## killed mid-ingest (slow ones included)
chaos: setup
	$(PY) -m pytest -q -m "chaos or integration" tests/integration/test_chaos_two_workers.py tests/integration/test_worker_crash.py \
		tests/integration/test_stack_faults.py tests/integration/test_broker_failover.py

## the ingest fuzzers and schemathesis with FUZZ_SCALE × their CI example counts (≥ 10,000 cases at 10);
## prints the cases generated per test (tests/fuzzing.py)
FUZZ_SCALE ?= 10
fuzz: setup
	KEFU_FUZZ_SCALE=$(FUZZ_SCALE) $(PY) -m pytest -q -p tests.fuzzing tests/unit/test_ingest_fuzz.py tests/integration/test_openapi_fuzz.py


## ruff on the Python, eslint on web/
lint: setup
	$(PY) -m ruff check .
	cd web && npm run lint --silent

## benchmark (~10 min; BENCH_ARGS=--quick ≈ 3-4 min); results under bench/results/, method in docs/performance.md
BENCH_ARGS ?=
bench: setup
	$(PY) -m bench.run $(BENCH_ARGS)

## down, then remove .run/ (all local data)
clean:
	@$(STACK) clean
