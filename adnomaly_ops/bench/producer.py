"""Producer benchmark: events generated, validated and acknowledged per second from one process,
against raw produce of the same pre-serialized bytes with the same client settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer

from adnomaly_ops.bench.common import BenchResult, median_result
from streaming.generator import EventBatch, TrafficGenerator
from streaming.kafka.config import producer_config
from streaming.kafka.topics import DAY_MS, TopicSpec, ensure_topics
from streaming.producer import ClickProducer
from streaming.settings import Settings

BATCH = 10_000


def _ours(settings: Settings, topic: str, events: int, seed: int) -> float:
    gen = TrafficGenerator(seed, settings.hash_salt.get_secret_value(), fraud=False)
    producer = ClickProducer(settings, topic)
    end = datetime.now(UTC)

    def batches() -> Iterator[EventBatch]:
        for i in range(events // BATCH):
            lo = end - timedelta(seconds=(events // BATCH - i) * 10)
            yield gen.batch(BATCH, lo, lo + timedelta(seconds=10))

    start_t = time.perf_counter()
    producer.send_batches(batches())  # generated and validated on the way, as `gen` does
    stats = producer.flush()
    return stats.acked / (time.perf_counter() - start_t)


def _limit(settings: Settings, topic: str, events: int, seed: int) -> float:
    gen = TrafficGenerator(seed, settings.hash_salt.get_secret_value(), fraud=False)
    end = datetime.now(UTC)
    pairs: list[tuple[bytes, bytes]] = []
    while len(pairs) < events:
        pairs.extend(gen.batch(BATCH, end - timedelta(seconds=10), end).pairs(validate=False))
    producer = Producer(producer_config(settings, "adnomaly-bench-raw"))
    acked = 0

    def on_delivery(err: object, _msg: object) -> None:
        nonlocal acked
        acked += err is None

    produce = producer.produce
    start_t = time.perf_counter()
    for key, value in pairs:
        while True:
            try:
                produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    return acked / (time.perf_counter() - start_t)


def bench_producer(settings: Settings, events: int, runs: int) -> BenchResult:
    topic = "bench.producer"
    ensure_topics(settings, [TopicSpec(topic, 6, DAY_MS, "producer benchmark")])
    results = []
    for run in range(runs):
        limit = _limit(settings, topic, events, seed=100 + run)
        ours = _ours(settings, topic, events, seed=200 + run)
        results.append({"ours_eps": ours, "limit_eps": limit})
    return median_result("producer", results, target_eps=50_000, events_per_run=events)
