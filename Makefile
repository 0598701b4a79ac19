# Adnomaly — every command a user needs; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
RUN := $(UV) run --frozen
ADNOMALY := $(RUN) adnomaly
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help bootstrap up down status dagster lint test test-unit create-topic gen tail db-consumer \
	minio-consumer db-query demo feast-apply feast-backfill feast-ingestor feast-test \
	flink-submit tail-features detector bench chaos ui

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## install everything the native stack needs (idempotent)
	@./infra/bootstrap.sh

demo: bootstrap ## fresh clone → running pipeline, every fraud scenario injected, alerts live, what was caught, URLs
	@$(ADNOMALY) demo $(ARGS)

up: bootstrap ## start every service (native stack, or compose when a Docker engine answers)
	@$(ADNOMALY) stack up

down: ## stop every service of the stack
	@$(ADNOMALY) stack down

dagster: ## the Dagster UI (dg dev: webserver + daemon) on 127.0.0.1:3000 (DAGSTER_PORT)
	@$(ADNOMALY) stack start dagster --wait
	@echo "Dagster UI: http://127.0.0.1:$${DAGSTER_PORT:-3000}"

ui: up ## the incidents app (queue, verdicts; login UI_USER / UI_PASSWORD) on 127.0.0.1:8501 (UI_PORT)
	@$(ADNOMALY) stack start ui --wait
	@$(RUN) python -c 'from streaming.settings import get_settings as s; print(f"Incidents app: http://127.0.0.1:{s().ui_port}")'

status: ## each service: up/down, port, pid, uptime, last error
	@$(ADNOMALY) stack status

lint: ## ruff (lint + format check), mypy, the import layering (import-linter), dg check defs
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) mypy
	@$(RUN) lint-imports --no-cache
	@$(RUN) dg check defs

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

flink-submit: ## submit the Flink features job (detached; a running copy is left alone)
	@$(ADNOMALY) flink submit $(ARGS)

tail-features: ## live feature rows (5-minute windows per geo/platform) + late/invalid counts
	@$(ADNOMALY) tail-features $(ARGS)

db-query: ## the sample statistics as tables (total, recent, top countries, platforms, high CTR)
	@$(ADNOMALY) db-query

feast-apply: ## register the Feast repo (feature_repo/) in its registry; rerun after editing it
	@$(ADNOMALY) features apply $(ARGS)

feast-backfill: ## Postgres feature_aggregates → day-partitioned Parquet (ARGS="--start D --end D")
	@$(ADNOMALY) features backfill $(ARGS)

detector: ## features topic → scores → anomaly_results + anomalies topic (newest model in MinIO)
	@$(ADNOMALY) detect-stream $(ARGS)

feast-ingestor: ## features topic → Feast online store (Redis); Ctrl-C stops after its batch
	@$(ADNOMALY) features ingest $(ARGS)

feast-test: ## a get_online_features lookup: fresh US/ios values as a table
	@$(ADNOMALY) features test $(ARGS)

bench: ## every benchmark (medians, each with its limit) → BENCHMARKS.md and benchmarks.png
	@$(ADNOMALY) bench all $(ARGS)

chaos: up ## kill/restart every part of the running pipeline; verify exactly-once (ARGS="--json")
	@$(ADNOMALY) chaos $(ARGS)
