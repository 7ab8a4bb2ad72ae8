# The two commands a user needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVICES := $(PYTHON) deploy/local/services.py
LOCAL_KAFKA := 127.0.0.1:9092
LOCAL_REDIS := redis://127.0.0.1:6379/0

.PHONY: run test services stop status lint install schemas clean help

help:
	@echo "make run       start Kafka and Redis, create topics, check the example rules"
	@echo "make test      install everything, start the services, lint, run every test"
	@echo "make services  start (or reuse) Kafka on 127.0.0.1:9092 and Redis on 127.0.0.1:6379"
	@echo "make stop      stop the services this project started"
	@echo "make lint      ruff, ruff format --check, mypy --strict"
	@echo "make schemas   regenerate schemas/generated (JSON Schema, AsyncAPI)"

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
test: $(STAMP)
	@if [ -z "$$BONUS_KAFKA_BOOTSTRAP" ]; then $(SERVICES) up kafka; fi
	@if [ -z "$$BONUS_REDIS_URL" ]; then $(SERVICES) up redis; fi
	$(MAKE) --no-print-directory lint
	BONUS_KAFKA_BOOTSTRAP=$${BONUS_KAFKA_BOOTSTRAP:-$(LOCAL_KAFKA)} \
	BONUS_REDIS_URL=$${BONUS_REDIS_URL:-$(LOCAL_REDIS)} \
	  $(BIN)/pytest tests -q -p no:cacheprovider

run: $(STAMP) services
	BONUS_KAFKA_BOOTSTRAP=$(LOCAL_KAFKA) $(BIN)/bonus topics create
	$(BIN)/bonus rules check deploy/rules.example.yaml
	@$(SERVICES) status
	@echo "Kafka and Redis are running (above) with every topic of the catalog created."
	@echo "The streaming workers and the demo traffic are not built yet (issue #4): nothing"
	@echo "consumes the topics. Stop the services with: make stop"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build *.egg-info
