"""Topic sizes, group lag and time-range reads against the real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streaming.kafka.config import consumer_config, producer_config
from streaming.kafka.inspect import TopicProbe, read_since, topic_size
from streaming.settings import Settings
from tests.integration.helpers import unique_topic

pytestmark = pytest.mark.integration


def _produce(
    stack: Settings, topic: str, values: list[bytes], partition: int, at: datetime | None = None
) -> None:
    producer = Producer(producer_config(stack, "inspect-test"))
    stamp = int((at or datetime.now(UTC)).timestamp() * 1000)
    for i, value in enumerate(values):
        producer.produce(
            topic, value, partition=partition, headers=[("n", str(i).encode())], timestamp=stamp
        )
    assert producer.flush(30) == 0


def test_size_and_lag_follow_commits(stack: Settings) -> None:
    topic = unique_topic(stack, "inspect", partitions=3)
    _produce(stack, topic, [b"a%d" % i for i in range(30)], partition=0)
    _produce(stack, topic, [b"b%d" % i for i in range(12)], partition=2)
    probe = TopicProbe(stack, principal="admin")  # a scratch topic: no monitor ACL on it
    group = f"inspect-{uuid.uuid4().hex[:6]}"

    assert topic_size(stack, topic) == 42
    assert probe.watermarks(topic) == {0: (0, 30), 1: (0, 0), 2: (0, 12)}
    assert probe.lag(group, topic) == 42  # never committed: everything is behind

    consumer = Consumer(consumer_config(stack, "inspect-test", group))
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, 0, 25), TopicPartition(topic, 2, 12)],
            asynchronous=False,
        )
    finally:
        consumer.close()
    assert probe.lags({group: topic}) == {group: 5}


def test_read_since_reads_the_range_with_headers(stack: Settings) -> None:
    topic = unique_topic(stack, "inspect-read", partitions=2)
    now = datetime.now(UTC)
    _produce(stack, topic, [b"old"], partition=0, at=now - timedelta(minutes=1))
    since = now - timedelta(seconds=30)
    _produce(stack, topic, [b"x%d" % i for i in range(100)], partition=1)
    _produce(stack, topic, [b"y"], partition=0)

    records = read_since(stack, topic, since, principal="admin")
    assert sorted(r.value for r in records) == sorted([b"x%d" % i for i in range(100)] + [b"y"])
    by_value = {r.value: r for r in records}
    assert by_value[b"x7"].headers == {"n": b"7"} and by_value[b"x7"].partition == 1
    assert by_value[b"y"].offset == 1
    assert read_since(stack, topic, datetime.now(UTC) + timedelta(hours=1), principal="admin") == []
