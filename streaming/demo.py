"""`adnomaly demo`: the pipeline end to end for a bounded time, then a summary and the UI URLs.

Services stay up afterwards (`make down` stops them), so people can keep exploring.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition
from rich.console import Console
from rich.live import Live
from rich.table import Table

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.kafka.config import consumer_config
from streaming.kafka.topics import ensure_topics
from streaming.settings import Settings
from streaming.stack import native
from streaming.stack.provision import s3_client
from streaming.stack.supervisor import Supervisor

PIPELINE = ("generator", "db-sink", "lake-sink")


@dataclass
class Snapshot:
    in_kafka: int
    in_postgres: int
    lake_objects: int
    lake_bytes: int
    labels: int


def topic_size(settings: Settings, topic: str) -> int:
    """Records in a topic: sum over partitions of (high watermark - low watermark)."""
    consumer = Consumer(consumer_config(settings, "adnomaly-demo", "adnomaly-demo-probe"))
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        total = 0
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def snapshot(settings: Settings) -> Snapshot:
    with connect(settings) as conn:
        stored = conn.execute("SELECT count(*) FROM clickstream_events").fetchone()
        labels = conn.execute("SELECT count(*) FROM fraud_labels").fetchone()
    objects, size = 0, 0
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.minio_bucket, Prefix="clickstream/"):
        for obj in page.get("Contents", []):
            objects, size = objects + 1, size + obj["Size"]
    return Snapshot(
        in_kafka=topic_size(settings, settings.topic),
        in_postgres=int(stored[0]) if stored else 0,
        lake_objects=objects,
        lake_bytes=size,
        labels=int(labels[0]) if labels else 0,
    )


def _table(snap: Snapshot, elapsed: float, total: float) -> Table:
    table = Table(title=f"Adnomaly demo — {elapsed:.0f}s of {total:.0f}s")
    for col in ("events in Kafka", "stored in PostgreSQL", "lake objects", "lake MiB",
                "fraud incidents"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(f"{snap.in_kafka:,}", f"{snap.in_postgres:,}", f"{snap.lake_objects:,}",
                  f"{snap.lake_bytes / 2**20:.1f}", f"{snap.labels:,}")  # fmt: skip
    return table


def urls(settings: Settings) -> Table:
    table = Table(title="Web interfaces")
    table.add_column("what")
    table.add_column("URL")
    table.add_column("login")
    table.add_row(
        "MinIO console",
        f"http://127.0.0.1:{settings.minio_console_port}",
        f"{settings.minio_access_key} / MINIO_SECRET_KEY from .env",
    )
    table.add_row("Flink UI", settings.flink_rest_url, "-")
    table.add_row(
        "PostgreSQL",
        f"postgresql://{settings.db_user}@{settings.db_host}:{settings.db_port}/{settings.db_name}",
        "DB_PASSWORD from .env",
    )
    return table


def run(settings: Settings, seconds: float, console: Console) -> Snapshot:
    with console.status("starting the stack…"):
        native.up(settings)
        ensure_topics(settings)
        with connect(settings) as conn:
            migrate(conn)
    sup = Supervisor(settings)
    for name in PIPELINE:
        sup.start(name)
    t0 = time.monotonic()
    snap = snapshot(settings)
    with Live(_table(snap, 0, seconds), console=console, refresh_per_second=1) as live:
        while (elapsed := time.monotonic() - t0) < seconds:
            time.sleep(2)  # refresh cadence of the live table, not a wait for a state
            snap = snapshot(settings)
            live.update(_table(snap, elapsed, seconds))
    console.print(urls(settings))
    console.print("The pipeline keeps running; `make status` shows it, `make down` stops it.")
    return snap
