"""The consume and commit steps every stream service shares: a batch of records with error
events logged, and committing a handled batch."""

from __future__ import annotations

import logging

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition


class FatalConsumerError(RuntimeError):
    """librdkafka declared the consumer unusable, e.g. a static member fenced after its session
    expired during a broker restart. Only a new consumer can go on: the service exits and its
    supervisor starts it again; records not yet committed are re-read (writes are idempotent)."""


def consume_records(
    consumer: Consumer, max_messages: int, timeout_s: float, log: logging.Logger
) -> list[Message]:
    """Up to `max_messages` records; error events are logged (end-of-partition is not an
    error) and left out, so callers only see data. A fatal error raises FatalConsumerError
    instead of leaving a consumer that silently never receives anything again."""
    good = []
    for msg in consumer.consume(max_messages, timeout_s):
        err = msg.error()
        if err is None:
            good.append(msg)
        elif err.fatal() or err.code() in (KafkaError._FATAL, KafkaError.FENCED_INSTANCE_ID):
            raise FatalConsumerError(f"fatal consumer error, restart needed: {err}")
        elif err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error: %s", err)
    return good


def commit_batch(
    consumer: Consumer, topic: str, messages: list[Message], log: logging.Logger
) -> bool:
    """Commit past the last of `messages` on each partition, synchronously. A failed commit
    (a rebalance took the partitions) is logged, not raised: the new owner re-reads the
    records and every writer is idempotent. True when committed."""
    last: dict[int, int] = {}
    for msg in messages:
        part = msg.partition() or 0
        last[part] = max(last.get(part, -1), msg.offset() or 0)
    offsets = [TopicPartition(topic, p, o + 1) for p, o in last.items()]
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    except KafkaException as exc:
        log.warning("offset commit failed (the batch will be re-read): %s", exc)
        return False
    return True
