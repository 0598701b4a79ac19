"""Produce→PostgreSQL latency at a steady rate: a live generator process sends events stamped at
send time; the DB sink, in this process, records for every event the time from its stamp to the
commit that made it durable. The limit is the same for a bare consumer of the same topic in the
same run (Kafka delivery alone), so the figure says what the sink adds."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime

import numpy as np
import orjson
from confluent_kafka import Consumer
from numpy.typing import NDArray

from adnomaly_ops.bench.common import BenchResult
from adnomaly_ops.bench.sinks import _drop_schema, _fresh_schema
from streaming.kafka.config import consumer_config
from streaming.kafka.inspect import topic_size
from streaming.kafka.topics import DAY_MS, TopicSpec, ensure_topics
from streaming.settings import Settings, child_env
from streaming.sinks.db import DbWriter
from streaming.sinks.runner import SinkRunner


def _raw_latencies(settings: Settings, topic: str, stop: threading.Event, out: list[float]) -> None:
    config = consumer_config(settings, "bench-raw-latency", f"raw-{uuid.uuid4().hex[:6]}")
    consumer = Consumer(config)
    consumer.subscribe([topic])
    try:
        while not stop.is_set():
            for msg in consumer.consume(10_000, 0.1):
                if msg.error() is None:
                    stamp = orjson.loads(msg.value() or b"{}")["timestamp"]
                    sent = datetime.fromisoformat(stamp).timestamp()
                    out.append(time.time() - sent)
    finally:
        consumer.close()


def _wait_for_records(settings: Settings, topic: str, deadline_s: float) -> None:
    """The generator process needs a few seconds to start; the sink's idle timer must not."""
    end = time.monotonic() + deadline_s
    while topic_size(settings, topic) == 0:
        if time.monotonic() > end:
            raise RuntimeError(f"the generator sent nothing to {topic} in {deadline_s:.0f}s")
        time.sleep(0.2)


def bench_latency(settings: Settings, rate: float, seconds: float) -> BenchResult:
    topic = f"bench.latency.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [TopicSpec(topic, 6, DAY_MS, "latency benchmark")])
    schema = f"bench_latency_{uuid.uuid4().hex[:6]}"
    _fresh_schema(settings, schema)
    ours: list[float] = []
    commits: list[float] = []

    def on_commit(times_ms: NDArray[np.int64]) -> None:
        now = time.time()
        commits.append(now)
        ours.extend((now - times_ms / 1000).tolist())

    stop = threading.Event()
    raw: list[float] = []
    reader = threading.Thread(target=_raw_latencies, args=(settings, topic, stop, raw))
    reader.start()
    runner = SinkRunner(
        settings,
        DbWriter(settings, schema=schema),
        f"lat-{uuid.uuid4().hex[:6]}",
        topic,
        on_commit=on_commit,
        poll_timeout_s=0.05,
    )
    gen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adnomaly_cli",
            "gen",
            "--no-fraud",
            "--topic",
            topic,
            "--rate",
            str(rate),
            "--duration",
            f"{seconds}s",
        ],
        env=child_env(settings),  # the bench's principal (admin: the topic is its own)
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_records(settings, topic, deadline_s=60)
        runner.run(idle_exit_s=3.0, max_seconds=seconds + 60)
    finally:
        gen.wait(60)
        stop.set()
        reader.join(30)
        _drop_schema(settings, schema)
    if not ours:
        raise RuntimeError("no events reached PostgreSQL")
    elapsed = max(commits[-1] - commits[0], 1e-3)  # the span in which events were stored
    ours_ms, raw_ms = np.array(ours) * 1000, np.array(raw or [0.0]) * 1000
    p50, p99 = float(np.percentile(ours_ms, 50)), float(np.percentile(ours_ms, 99))
    raw_p99 = float(np.percentile(raw_ms, 99))
    return BenchResult(
        name="latency",
        throughput_eps=len(ours) / elapsed,
        limit_eps=len(raw) / elapsed,
        runs=[{"ours_eps": len(ours) / elapsed, "limit_eps": len(raw) / elapsed}],
        target_eps=rate,
        extra={
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "limit_p50_ms": round(float(np.percentile(raw_ms, 50)), 1),
            "limit_p99_ms": round(raw_p99, 1),
            "latency_ratio_p99": round(p99 / raw_p99, 2) if raw_p99 else None,
            "events": len(ours),
            "target_p99_ms": 1000,
        },
    )
