"""Flink features-job benchmark on the stack's cluster, one slot (parallelism 1).

Throughput: the same pre-loaded topic is read to its end (bounded source) by the full job
(windows, both Kafka and PostgreSQL sinks, dropped-record routing) and, as the limit, by a job
that only deserializes it into a blackhole; each is timed from its first task RUNNING to its last
task FINISHED, so submission and start-up are not counted for either.

Emission delay: the job runs live on events stamped with the wall clock while they are produced,
so the watermark passes a window's end when an event stamped end + out-of-orderness is produced;
the delay is the row's Kafka timestamp minus that moment (Kafka and the 200 ms watermark period
included). A short window (`LIVE_SIZE`/`LIVE_SLIDE`) gives many firings per minute to rank.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from confluent_kafka import Consumer

from adnomaly_ops.bench.common import BenchResult, median_result
from streaming.feature_contract import parse_feature_row
from streaming.flink.config import JobConfig
from streaming.flink.rest import FlinkRest
from streaming.flink.submit import submit
from streaming.flink.tables import drop_tables
from streaming.generator import TrafficGenerator
from streaming.kafka.config import consumer_config
from streaming.kafka.topics import DAY_MS, TopicSpec, admin_client, ensure_topics
from streaming.producer import ClickProducer
from streaming.settings import Settings

BATCH = 20_000
LIVE_SIZE, LIVE_SLIDE = timedelta(seconds=10), timedelta(seconds=2)


def _config(tag: str, topic: str, **overrides: Any) -> JobConfig:
    """Its own name, consumer group and PostgreSQL tables: nothing shared with the stack's job."""
    names = {
        "name": f"bench-flink-{tag}",
        "group_id": f"bench-flink-{tag}",
        "features_table": f"bench_fa_{tag.replace('-', '_')}",
        "dropped_table": f"bench_fd_{tag.replace('-', '_')}",
    }
    return JobConfig(
        source_topic=topic,
        features_topic=f"{topic}.out",
        startup="earliest-offset",
        idle_timeout=timedelta(0),
        **names,
        **overrides,
    )


def _preload(settings: Settings, topic: str, events: int) -> None:
    """Two hours of event time, like a busy clickstream, keyed as the generator keys it."""
    gen = TrafficGenerator(42, settings.hash_salt.get_secret_value(), fraud=True)
    producer = ClickProducer(settings, topic)
    start = datetime(2030, 6, 1, tzinfo=UTC)
    step = timedelta(hours=2) * BATCH / events
    for i in range(0, events, BATCH):
        lo = start + step * (i // BATCH)
        producer.send_pairs(gen.batch(min(BATCH, events - i), lo, lo + step).pairs(validate=False))
    producer.flush(300)


def _bounded_eps(settings: Settings, config: JobConfig, events: int) -> float:
    rest = FlinkRest(settings.flink_rest_url)
    jid = submit(settings, config).jid
    try:
        rest.wait_state(jid, {"FINISHED"}, deadline_s=900)
        times = [
            sub["timestamps"]
            for vertex in rest.job(jid)["vertices"]
            for sub in rest.subtask_times(jid, vertex["id"])
        ]
    finally:
        drop_tables(settings, config)
    elapsed_ms = max(t["FINISHED"] for t in times) - min(t["RUNNING"] for t in times)
    return events / (elapsed_ms / 1000)


@contextmanager
def _topics(settings: Settings, name: str) -> Iterator[str]:
    """An input topic (partitioned like clickstream) and its `.out` features topic, removed
    afterwards so no run reads another run's records."""
    specs = [TopicSpec(name, 6, DAY_MS, "bench input"), TopicSpec(f"{name}.out", 3, DAY_MS, "out")]
    ensure_topics(settings, specs)
    try:
        yield name
    finally:
        admin_client(settings).delete_topics([spec.name for spec in specs], operation_timeout=30)


def _live_delays_ms(
    settings: Settings, config: JobConfig, rate: float, seconds: float
) -> list[float]:
    rest = FlinkRest(settings.flink_rest_url)
    jid = submit(settings, config).jid
    try:
        rest.wait_tasks_running(jid, deadline_s=120)
        gen = TrafficGenerator(7, settings.hash_salt.get_secret_value(), fraud=True)
        producer = ClickProducer(settings, config.source_topic)
        tick, end = 0.05, time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            batch = gen.batch_for_now(max(1, round(rate * tick)), span=timedelta(seconds=tick))
            producer.send_pairs(batch.pairs(validate=False))
            time.sleep(max(0.0, tick - (time.monotonic() - started)))
        stop_ms = time.time() * 1000
        producer.flush(60)
        return _delays(settings, config, stop_ms)
    finally:
        rest.cancel(jid)
        rest.wait_state(jid, {"CANCELED"}, deadline_s=120)
        drop_tables(settings, config)


def _delays(settings: Settings, config: JobConfig, stop_ms: float) -> list[float]:
    """Rows whose watermark moment came while events still flowed, read until the last is due."""
    lateness_ms = config.out_of_orderness / timedelta(milliseconds=1)
    consumer = Consumer(consumer_config(settings, "bench-flink", f"bench-{uuid.uuid4().hex}"))
    consumer.subscribe([config.features_topic])
    delays: list[float] = []
    deadline = time.monotonic() + 15  # rows due 1 s before the stop, at most 14 s late
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 0.5):
                if msg.error():
                    continue
                row = parse_feature_row(msg.value() or b"")
                passed_ms = row.window_end.timestamp() * 1000 + lateness_ms
                if passed_ms < stop_ms - 1000:
                    delays.append(msg.timestamp()[1] - passed_ms)
    finally:
        consumer.close()
    return delays


def _run(
    settings: Settings, source: str, events: int, live_rate: float, live_seconds: float
) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    limit = _bounded_eps(
        settings, _config(f"void-{tag}", source, bounded=True, blackhole=True), events
    )
    ours = _bounded_eps(settings, _config(f"job-{tag}", source, bounded=True), events)
    with _topics(settings, f"bench.flink.live.{tag}") as live:
        config = _config(f"live-{tag}", live, window_size=LIVE_SIZE, window_slide=LIVE_SLIDE)
        delays = _live_delays_ms(settings, config, live_rate, live_seconds)
    p50, p99 = np.percentile(delays, [50, 99]) if delays else (float("nan"), float("nan"))
    return {
        "ours_eps": ours,
        "limit_eps": limit,
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "delay_samples": float(len(delays)),
    }


def bench_flink(
    settings: Settings, events: int, runs: int, live_rate: float, live_seconds: float
) -> BenchResult:
    with _topics(settings, f"bench.flink.{uuid.uuid4().hex[:8]}") as source:
        _preload(settings, source, events)
        results = [_run(settings, source, events, live_rate, live_seconds) for _ in range(runs)]
    return median_result(
        "flink",
        results,
        target_eps=20_000,
        p50_ms=statistics.median(r["p50_ms"] for r in results),
        p99_ms=statistics.median(r["p99_ms"] for r in results),
        target_p99_ms=5_000,
        events_per_run=events,
        slots=1,
        delay_window=f"{LIVE_SIZE.seconds}s sliding {LIVE_SLIDE.seconds}s",
        delay_rate_eps=live_rate,
    )
