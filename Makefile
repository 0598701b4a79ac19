# Adnomaly — every command a user needs; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
RUN := $(UV) run --frozen
ADNOMALY := $(RUN) adnomaly
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help bootstrap up down status lint test test-unit create-topic gen tail db-consumer \
	minio-consumer db-query demo

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## install everything the native stack needs (idempotent)
	@./infra/bootstrap.sh

demo: bootstrap ## fresh clone → running pipeline: stack, generator, sinks, live view, summary, URLs
	@$(ADNOMALY) demo $(ARGS)

up: bootstrap ## start every service (native stack, or compose when a Docker engine answers)
	@$(ADNOMALY) stack up

down: ## stop every service of the stack
	@$(ADNOMALY) stack down

status: ## each service: up/down, port, pid, uptime, last error
	@$(ADNOMALY) stack status

lint: ## ruff (lint + format check) and mypy
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) mypy

test: bootstrap lint ## the whole suite: lint, unit, integration on the suite's own stack
	@$(RUN) pytest

test-unit: ## unit tests only (no servers)
	@$(RUN) pytest tests/unit

create-topic: ## create the Kafka topics (idempotent; explicit partitions and retention)
	@$(ADNOMALY) topics create

gen: create-topic ## live clickstream at EVENTS_PER_SEC (Ctrl-C stops); ARGS="--history 30d" etc.
	@$(ADNOMALY) gen $(ARGS)

tail: ## show live events as a table (ARGS=--json for raw JSON lines)
	@$(ADNOMALY) tail $(ARGS)

db-consumer: ## clickstream → PostgreSQL (Ctrl-C stops after committing its batch)
	@$(ADNOMALY) sink db $(ARGS)

minio-consumer: ## clickstream → MinIO data lake (hourly JSON Lines objects)
	@$(ADNOMALY) sink lake $(ARGS)

db-query: ## the seed's statistics as tables (total, recent, top countries, platforms, high CTR)
	@$(ADNOMALY) db-query
