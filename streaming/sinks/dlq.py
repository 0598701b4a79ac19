"""Dead-letter producer: rejected records keep their original bytes, the error and the source.

`flush()` raises if any DLQ write failed, so the caller never commits offsets past a bad record
that is not safely in the DLQ: bad input is rejected, never lost.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer

from streaming.kafka.config import producer_config
from streaming.settings import Settings
from streaming.sinks.records import Rejected


class DlqWriteError(RuntimeError):
    """The DLQ did not acknowledge a record; offsets must not be committed."""


class DeadLetters:
    def __init__(self, settings: Settings, sink: str, source_topic: str) -> None:
        self.topic = settings.dlq_topic
        self.sink = sink
        self.source_topic = source_topic
        # the service's own principal: each one that dead-letters may write the DLQ
        self.producer = Producer(producer_config(settings, f"adnomaly-{sink}-dlq", principal=sink))
        self.failures: list[str] = []
        self.sent = 0

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.failures.append(str(err))

    def add(self, rejected: list[Rejected]) -> None:
        for rec in rejected:
            headers: list[tuple[str, str | bytes | None]] = [
                ("error", rec.error.encode()),
                ("fields", ",".join(rec.fields).encode()),
                ("source.topic", self.source_topic.encode()),
                ("source.partition", str(rec.partition).encode()),
                ("source.offset", str(rec.offset).encode()),
                ("sink", self.sink.encode()),
            ]
            self.producer.produce(
                self.topic, rec.raw, key=rec.key, headers=headers, on_delivery=self._on_delivery
            )
            self.sent += 1
            self.producer.poll(0)

    def flush(self, timeout_s: float = 60.0) -> None:
        remaining = self.producer.flush(timeout_s)
        if remaining or self.failures:
            failures, self.failures = self.failures, []
            raise DlqWriteError(f"{remaining} DLQ record(s) unacknowledged; errors: {failures[:3]}")
