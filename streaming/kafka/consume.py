"""The consume step every stream service shares: a batch of records, error events logged."""

from __future__ import annotations

import logging

from confluent_kafka import Consumer, KafkaError, Message


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
        elif err.fatal():
            raise FatalConsumerError(f"fatal consumer error, restart needed: {err}")
        elif err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error: %s", err)
    return good
