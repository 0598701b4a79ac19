"""Poison records for the chaos run and the check that each one reached the DLQ once per sink
of the clickstream topic, with the sink named in its headers."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from streaming.kafka.config import consumer_config, producer_config
from streaming.settings import Settings

CLICKSTREAM_CONSUMERS = ("db-sink", "lake-sink")
_MARKER = re.compile(rb"chaos-poison-([0-9a-f]{8})-(\d+)")


def poison_records(run: str, per_kind: int) -> list[bytes]:
    """Records each sink must reject: not JSON, JSON breaking the contract, and oversized."""
    out = []
    for i in range(per_kind):
        out.append(f"not json chaos-poison-{run}-{3 * i}".encode())
        out.append(f'{{"event_id": "chaos-poison-{run}-{3 * i + 1}", "geo": "XX"}}'.encode())
        pad = "x" * 20_000  # over the sinks' 16 KiB record limit
        out.append(f'{{"event_id": "chaos-poison-{run}-{3 * i + 2}", "pad": "{pad}"}}'.encode())
    return out


def send_poison(settings: Settings, records: list[bytes]) -> None:
    producer = Producer(producer_config(settings, "adnomaly-chaos-poison"))
    for value in records:
        producer.produce(settings.topic, value, b"chaos|poison")
    if producer.flush(60):
        raise RuntimeError("poison records were not acknowledged by the broker")


def poison_in_dlq(settings: Settings, run: str, since: datetime) -> dict[int, set[str]]:
    """Poison record number -> the sinks whose DLQ copy of it was found."""
    found: dict[int, set[str]] = defaultdict(set)
    consumer = Consumer(consumer_config(settings, "adnomaly-chaos", f"chaos-{uuid.uuid4().hex}"))
    try:
        topic = settings.dlq_topic
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        stamp = int(since.timestamp() * 1000)
        starts = consumer.offsets_for_times(
            [TopicPartition(topic, p, stamp) for p in parts], timeout=10
        )
        todo = [tp for tp in starts if tp.offset >= 0]
        if not todo:
            return found
        consumer.assign(todo)
        while True:
            messages = consumer.consume(10_000, 1.0)
            if not messages:
                break
            for msg in messages:
                if msg.error() is not None:
                    continue
                match = _MARKER.search(msg.value() or b"")
                if match and match.group(1).decode() == run:
                    sink = dict(msg.headers() or []).get("sink") or b"?"
                    found[int(match.group(2))].add(
                        sink.decode() if isinstance(sink, bytes) else sink
                    )
    finally:
        consumer.close()
    return found
