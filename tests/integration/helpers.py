"""Shared helpers for integration tests: unique topics, bounded waits, reading topics back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import Consumer, Message

from streaming.kafka.config import consumer_config
from streaming.kafka.topics import DAY_MS, TopicSpec, ensure_topics
from streaming.settings import Settings

T = TypeVar("T")


def unique_topic(settings: Settings, prefix: str, partitions: int = 6) -> str:
    name = f"test.{prefix}.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [TopicSpec(name, partitions, DAY_MS, "test")])
    return name


def wait_for(check: Callable[[], T], deadline_s: float, what: str, interval_s: float = 0.25) -> T:
    """Poll `check` until it returns a truthy value or the deadline passes."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(interval_s)


def read_all(
    settings: Settings, topic: str, expected: int, deadline_s: float = 60
) -> list[Message]:
    """Every record of `topic` from the beginning, stopping once `expected` arrived."""
    consumer = Consumer(consumer_config(settings, "test-reader", f"reader-{uuid.uuid4().hex}"))
    consumer.subscribe([topic])
    out: list[Message] = []
    end = time.monotonic() + deadline_s
    try:
        while len(out) < expected and time.monotonic() < end:
            for msg in consumer.consume(10_000, 0.5):
                if msg.error() is None:
                    out.append(msg)
        # one more short poll: more records than expected must show up as a failure
        out.extend(m for m in consumer.consume(10_000, 1.0) if m.error() is None)
    finally:
        consumer.close()
    return out
