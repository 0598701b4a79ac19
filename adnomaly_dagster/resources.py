"""Dagster resources: thin wrappers over the data plane's own client factories.

Every resource reads the one `Settings` (streaming/settings.py) when it is used, never at
import, so the code location loads without credentials and a run sees the stack's current
configuration. PostgreSQL comes from streaming/db/connect.py, S3 from streaming/s3.py, Kafka
sizes and consumer lag from streaming/kafka/inspect.py's TopicProbe (one lag meaning
everywhere: a partition a group never committed counts from its low watermark), Flink from
streaming/flink/rest.py, the stream-health figures from Prometheus
(streaming/prometheus_api.py). The bound instances live in defs/ (resources.py files); tests swap
them for fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import dagster as dg
import psycopg
from confluent_kafka.admin import OffsetSpec
from psycopg import sql

from streaming.db.connect import connect
from streaming.flink.rest import FlinkRest, FlinkRestError
from streaming.kafka.inspect import TIMEOUT_S, TopicProbe
from streaming.prometheus_api import StreamFigures, stream_figures
from streaming.s3 import s3_client
from streaming.settings import Settings, load_settings


class PostgresResource(dg.ConfigurableResource):
    """The app database as the app role (never a superuser)."""

    def settings(self) -> Settings:
        return load_settings()

    def connect(self) -> psycopg.Connection:
        """A connection for `with ... as conn:` (commits on success, closes on exit)."""
        return connect(self.settings())

    def newest(self, table: str, column: str) -> datetime | None:
        """max(column) of table: how recent the newest row a service wrote is."""
        query = sql.SQL("SELECT max({}) FROM {}").format(
            sql.Identifier(column), sql.Identifier(table)
        )
        with self.connect() as conn:
            row = conn.execute(query).fetchone()
        return row[0] if row else None


class S3Resource(dg.ConfigurableResource):
    """MinIO: the lake bucket and the model store."""

    def settings(self) -> Settings:
        return load_settings()

    @property
    def bucket(self) -> str:
        return self.settings().minio_bucket

    def client(self) -> Any:
        return s3_client(self.settings())


class KafkaResource(dg.ConfigurableResource):
    """Topic sizes, growth and consumer-group lag; every broker call has TopicProbe's timeout,
    so a sensor tick stays far below Dagster's 60 s limit."""

    def settings(self) -> Settings:
        return load_settings()

    @contextmanager
    def probe(self) -> Iterator[TopicProbe]:
        with TopicProbe(self.settings()) as probe:
            yield probe

    def lags(self, groups: Mapping[str, str]) -> dict[str, int]:
        """Group -> records of its topic not committed yet (group -> topic it reads)."""
        with self.probe() as probe:
            return probe.lags(groups)

    def appended_since(self, topic: str, since: datetime) -> int:
        """Records appended to `topic` at or after `since` (broker time): how fast it grows,
        without remembering an earlier reading."""
        with self.probe() as probe:
            marks = probe.watermarks(topic)
            parts = probe.partitions(topic)
            stamp = OffsetSpec.for_timestamp(int(since.timestamp() * 1000))
            futures = probe.admin.list_offsets(
                {tp: stamp for tp in parts}, request_timeout=TIMEOUT_S
            )
            first = {tp.partition: f.result().offset for tp, f in futures.items()}
        # offset -1: no record at or after `since` in that partition
        return sum(high - first[p] for p, (_, high) in marks.items() if first.get(p, -1) >= 0)

    def size(self, topic: str) -> int:
        with self.probe() as probe:
            return probe.size(topic)


class FlinkResource(dg.ConfigurableResource):
    """The Flink JobManager's REST API."""

    def settings(self) -> Settings:
        return load_settings()

    def job_state(self, name: str) -> str:
        """RUNNING when a copy of the job runs; else its latest state, NOT SUBMITTED, or
        UNREACHABLE with the reason."""
        try:
            jobs = [
                j for j in FlinkRest(self.settings().flink_rest_url, 5.0).jobs() if j.name == name
            ]
        except FlinkRestError as exc:
            return f"UNREACHABLE ({exc})"
        if any(j.state == "RUNNING" for j in jobs):
            return "RUNNING"
        latest = max(jobs, key=lambda j: j.start_time_ms, default=None)
        return latest.state if latest else "NOT SUBMITTED"


class PrometheusResource(dg.ConfigurableResource):
    """The stream-health figures as Prometheus has them: it scrapes every service, so a sensor
    tick asks it a few queries instead of polling Kafka, PostgreSQL and Flink."""

    def settings(self) -> Settings:
        return load_settings()

    def figures(self) -> StreamFigures:
        """Raises streaming.prometheus_api.PrometheusUnavailableError when it cannot answer."""
        return stream_figures(self.settings())


class FeastResource(dg.ConfigurableResource):
    """The Feast repository (FEATURE_REPO_PATH); the store's other settings (Redis, registry,
    offline dir) come from the same settings as every service (streaming/features/store.py)."""

    def settings(self) -> Settings:
        return load_settings()

    def store(self) -> Any:
        from streaming.features.store import open_store

        settings = self.settings()
        return open_store(settings, settings.feature_repo_path)
