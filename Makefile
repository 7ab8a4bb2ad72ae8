# The two commands a user needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVICES := $(PYTHON) deploy/local/services.py
LOCAL_KAFKA := 127.0.0.1:9092
LOCAL_REDIS := redis://127.0.0.1:6379/0
LOCAL_CLUSTER := redis://127.0.0.1:17001/0

.PHONY: run test services stop status lint install schemas clean help bench faults test-cluster

help:
	@echo "make run       start everything and drive a simulated month of demo traffic"
	@echo "make test      install everything, start the services, lint, run every test"
	@echo "make services  start (or reuse) Kafka on 127.0.0.1:9092 and Redis on 127.0.0.1:6379"
	@echo "make stop      stop the services this project started"
	@echo "make test-cluster  integration and e2e tests on a local 3-master Redis Cluster"
	@echo "make lint      ruff, ruff format --check, mypy --strict"
	@echo "make schemas   regenerate schemas/generated (JSON Schema, AsyncAPI)"
	@echo "make bench     the performance benchmark (QUICK=1: a few minutes); bench-results.json"
	@echo "make faults    the fault suite on its own Kafka and Redis (SHORT=1: make test's form); faults-report.json"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11+ is required (found $$($(PYTHON) --version 2>&1)); set PYTHON=..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)

services:
	@$(SERVICES) up

stop:
	@$(SERVICES) down

status:
	@$(SERVICES) status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict

schemas: $(STAMP)
	$(BIN)/python -m schemas.generate

# BONUS_KAFKA_BOOTSTRAP / BONUS_REDIS_URL, when set, point the tests at running services and
# the local ones are not started; otherwise the local ones are started (or reused) here.
# The short form of the fault suite runs here too (tests/faults/test_faults_short.py), on its
# own broker and redis-servers that it starts and stops itself.
test: $(STAMP)
	@if [ -z "$$BONUS_KAFKA_BOOTSTRAP" ]; then $(SERVICES) up kafka; fi
	@if [ -z "$$BONUS_REDIS_URL" ]; then $(SERVICES) up redis; fi
	$(MAKE) --no-print-directory lint
	BONUS_KAFKA_BOOTSTRAP=$${BONUS_KAFKA_BOOTSTRAP:-$(LOCAL_KAFKA)} \
	BONUS_REDIS_URL=$${BONUS_REDIS_URL:-$(LOCAL_REDIS)} \
	  $(BIN)/pytest tests -q -p no:cacheprovider

# The same integration and end-to-end suites on a Redis Cluster: three masters on 17001-17003
# (deploy/local/local_redis_cluster.py, started or reused) and Kafka as for `make test`.
test-cluster: $(STAMP)
	@if [ -z "$$BONUS_KAFKA_BOOTSTRAP" ]; then $(SERVICES) up kafka; fi
	@$(SERVICES) up redis-cluster
	BONUS_KAFKA_BOOTSTRAP=$${BONUS_KAFKA_BOOTSTRAP:-$(LOCAL_KAFKA)} \
	BONUS_REDIS_URL=$(LOCAL_CLUSTER) BONUS_REDIS_CLUSTER=1 \
	  $(BIN)/pytest tests/integration tests/e2e -q -p no:cacheprovider

# The main job: two workers on an accelerated clock, a simulated month of demo traffic, a live
# view and a summary (deploy/local/demo.sh). Ctrl-C stops it cleanly.
run: $(STAMP) services
	@deploy/local/demo.sh

# Issue 7's benchmark against the local services: bench-results.json and a table (bench/).
bench: $(STAMP) services
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

# Issue 6's fault suite: kill -9, rebalances, broker and redis-server restarts, failpoints and a
# poison-pill storm on its own Kafka (127.0.0.1:19092) and Redis (16379, 16380), which it starts
# and stops (deploy/local); a table and faults-report.json. SEED=n, ONLY=scenario, SHORT=1.
faults: $(STAMP)
	$(BIN)/python -m tests.faults $(if $(SHORT),--short,) $(if $(SEED),--seed $(SEED),) \
	  $(foreach name,$(ONLY),--only $(name))

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build *.egg-info
