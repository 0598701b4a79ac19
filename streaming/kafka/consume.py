"""The consume step every stream service shares: a batch of records, error events logged."""

from __future__ import annotations

import logging

from confluent_kafka import Consumer, KafkaError, Message


def consume_records(
    consumer: Consumer, max_messages: int, timeout_s: float, log: logging.Logger
) -> list[Message]:
    """Up to `max_messages` records; error events are logged (end-of-partition is not an
    error) and left out, so callers only see data."""
    good = []
    for msg in consumer.consume(max_messages, timeout_s):
        err = msg.error()
        if err is None:
            good.append(msg)
        elif err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error: %s", err)
    return good
