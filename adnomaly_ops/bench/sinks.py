"""Sink benchmarks: sustained events/s from a pre-filled topic into each store, next to the
store's own limit measured in the same run (raw COPY of the same rows from a local file into an
identical table; raw put of the same bytes to MinIO)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from psycopg import sql

from adnomaly_ops.bench.common import BenchResult, median_result
from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.generator import TrafficGenerator
from streaming.kafka.topics import DAY_MS, TopicSpec, ensure_topics
from streaming.producer import ClickProducer
from streaming.s3 import s3_client
from streaming.settings import Settings
from streaming.sinks.db import COLUMN_NAMES, DbWriter, copy_rows, days
from streaming.sinks.lake import LakeWriter
from streaming.sinks.records import split
from streaming.sinks.runner import SinkRunner


def prefill(settings: Settings, events: int, seed: int) -> tuple[str, list[tuple[bytes, bytes]]]:
    """A fresh topic holding `events` events; returns it and the (key, value) pairs sent."""
    topic = f"bench.sink.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [TopicSpec(topic, 6, DAY_MS, "sink benchmark")])
    gen = TrafficGenerator(seed, settings.hash_salt.get_secret_value(), fraud=False)
    end = datetime(2026, 6, 1, tzinfo=UTC)
    pairs = gen.batch(events, end - timedelta(hours=6), end).pairs()
    producer = ClickProducer(settings, topic)
    producer.send_pairs(pairs)
    producer.flush()
    return topic, pairs


def _fresh_schema(settings: Settings, name: str) -> None:
    with connect(settings, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    with connect(settings, schema=name) as conn:
        migrate(conn)
        conn.commit()


def _drop_schema(settings: Settings, name: str) -> None:
    with connect(settings, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _run_sink(runner: SinkRunner, events: int) -> float:
    start = time.perf_counter()
    stats = runner.run(stop_after=events, max_seconds=600)
    elapsed = time.perf_counter() - start
    if stats.stored < events:
        raise RuntimeError(f"sink stored {stats.stored} of {events} events")
    return stats.stored / elapsed


def _copy_limit(settings: Settings, pairs: list[tuple[bytes, bytes]], schema: str) -> float:
    """Raw COPY of the same rows, in the very text our sink sends, from a local file into an
    identical (partitioned) table: PostgreSQL's own speed, without Kafka or validation."""
    accepted = split([_Msg(v) for _, v in pairs]).accepted
    path = settings.state_dir / f"bench-{schema}.tsv"
    path.write_bytes(copy_rows(accepted))
    copy = sql.SQL("COPY clickstream_events ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES))
    )
    with connect(settings, schema=schema) as conn:
        for day in days(accepted):
            conn.execute("SELECT ensure_clickstream_partition(%s)", (day,))
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(copy) as cp, path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                cp.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - start
    path.unlink()
    return len(accepted) / elapsed


class _Msg:
    def __init__(self, value: bytes) -> None:
        self._value = value

    def value(self) -> bytes:
        return self._value

    def key(self) -> None:
        return None

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0


def bench_db_sink(settings: Settings, events: int, runs: int) -> BenchResult:
    results = []
    for run in range(runs):
        topic, pairs = prefill(settings, events, seed=300 + run)
        ours_schema, limit_schema = f"bench_db_{run}", f"bench_copy_{run}"
        _fresh_schema(settings, ours_schema)
        _fresh_schema(settings, limit_schema)
        writer = DbWriter(settings, schema=ours_schema)
        runner = SinkRunner(settings, writer, f"bench-{uuid.uuid4().hex[:6]}", topic)
        ours = _run_sink(runner, events)
        limit = _copy_limit(settings, pairs, limit_schema)
        _drop_schema(settings, ours_schema)
        _drop_schema(settings, limit_schema)
        results.append({"ours_eps": ours, "limit_eps": limit})
    return median_result("db-sink", results, target_eps=30_000, events_per_run=events)


def _read_objects(settings: Settings, prefix: str) -> dict[str, bytes]:
    client = s3_client(settings)
    out: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.minio_bucket, Prefix=prefix + "/"
    ):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=settings.minio_bucket, Key=obj["Key"])["Body"]
            out[obj["Key"]] = body.read()
    return out


def _put_limit(settings: Settings, objects: dict[str, bytes]) -> float:
    client = s3_client(settings)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [
            pool.submit(client.put_object, Bucket=settings.minio_bucket, Key=k, Body=v)
            for k, v in objects.items()
        ]
        for future in futures:
            future.result()
    return time.perf_counter() - start


def bench_lake_sink(settings: Settings, events: int, runs: int) -> BenchResult:
    results = []
    for run in range(runs):
        topic, _ = prefill(settings, events, seed=400 + run)
        prefix = f"bench/{uuid.uuid4().hex[:8]}"
        writer = LakeWriter(settings, prefix=prefix)
        runner = SinkRunner(settings, writer, f"bench-{uuid.uuid4().hex[:6]}", topic)
        ours = _run_sink(runner, events)
        # the limit puts the very objects our sink wrote (same bytes, same sizes) once more,
        # without Kafka, parsing or validation
        objects = _read_objects(settings, prefix)
        limit = events / _put_limit(settings, {f"{k}.raw": v for k, v in objects.items()})
        results.append({"ours_eps": ours, "limit_eps": limit})
    return median_result("lake-sink", results, target_eps=50_000, events_per_run=events)
