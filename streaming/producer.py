"""The clickstream producer: idempotent, keyed by geo|platform, counting every delivery outcome.

Delivery failures are counted and reported (and fail the command), never silently dropped.
Fraud labels go to the labels topic and to PostgreSQL `fraud_labels`, never into events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.generator import EventBatch, FraudIncident
from streaming.kafka.config import producer_config
from streaming.metrics import GeneratorMetrics
from streaming.settings import Settings

log = logging.getLogger("adnomaly.producer")

_LABEL_SQL = (
    "INSERT INTO fraud_labels (incident_id, scenario, geo, platform, campaign_id, start_ts,"
    " end_ts, intensity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (incident_id) DO NOTHING"
)


class DeliveryError(RuntimeError):
    """Some events were not acknowledged by the broker."""


@dataclass
class DeliveryStats:
    produced: int = 0
    acked: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    labels: int = 0

    def on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.acked += 1
        else:
            self.failed += 1
            self.errors[str(err.name())] = self.errors.get(str(err.name()), 0) + 1


class ClickProducer:
    def __init__(
        self, settings: Settings, topic: str | None = None, logger: logging.Logger | None = None
    ) -> None:
        """`logger` receives librdkafka's own log lines instead of stderr (served by poll)."""
        self.settings = settings
        self.topic = topic or settings.topic
        config = producer_config(settings, "adnomaly-generator", principal="generator")
        if logger is not None:
            config["logger"] = logger
        self.producer = Producer(config)
        self.stats = DeliveryStats()
        self.metrics = GeneratorMetrics()
        self._labelled: set[str] = set()

    def send_pairs(self, pairs: Iterable[tuple[bytes, bytes]]) -> int:
        """Produce (key, value) pairs; waits for queue room instead of dropping on BufferError."""
        produce, cb, n = self.producer.produce, self.stats.on_delivery, 0
        for key, value in pairs:
            while True:
                try:
                    produce(self.topic, value, key, on_delivery=cb)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            n += 1
        self.stats.produced += n
        self.producer.poll(0)
        self.metrics.sync(n, self.stats.produced, self.stats.acked, self.stats.failed)
        return n

    def send_batch(self, batch: EventBatch) -> int:
        n = self.send_pairs(batch.pairs(validate=True))
        self.send_labels(batch.incidents)
        return n

    def send_batches(self, batches: Iterable[EventBatch]) -> int:
        """Produce a stream of batches, each checked against the contract before a byte of it
        is sent (`EventBatch.pairs`: on its columns, a batch they do not clear on its bytes).
        Returns the number of events produced."""
        return sum(self.send_batch(batch) for batch in batches)

    def send_labels(self, incidents: Iterable[FraudIncident]) -> None:
        new = [i for i in incidents if i.id not in self._labelled]
        if not new:
            return
        for incident in new:
            self.producer.produce(
                self.settings.labels_topic,
                incident.to_json_bytes(),
                incident.id.encode(),
                on_delivery=self.stats.on_delivery,
            )
            self.stats.produced += 1
        self._store_labels(new)
        self._labelled.update(i.id for i in new)
        self.stats.labels += len(new)

    def _store_labels(self, incidents: list[FraudIncident]) -> None:
        rows = [
            (i.id, str(i.type), i.geo, i.platform, i.campaign_id, i.start, i.end, i.intensity)
            for i in incidents
        ]
        try:
            with connect(self.settings) as conn:
                migrate(conn)
                with conn.cursor() as cur:
                    cur.executemany(_LABEL_SQL, rows)
        except ConnectionError as exc:
            # The labels topic (kept forever) still holds them; say so rather than fail traffic.
            log.warning("fraud labels not stored in PostgreSQL (kept in Kafka): %s", exc)

    def flush(self, deadline_s: float = 120.0) -> DeliveryStats:
        """Wait for every outstanding delivery report; raise if any event was not acked."""
        end = time.monotonic() + deadline_s
        while len(self.producer) and time.monotonic() < end:
            self.producer.flush(min(1.0, max(end - time.monotonic(), 0.01)))
        outstanding = len(self.producer)
        self.metrics.sync(0, self.stats.produced, self.stats.acked, self.stats.failed)
        if outstanding or self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} event(s) failed {self.stats.errors}, "
                f"{outstanding} unacknowledged after {deadline_s:.0f}s"
            )
        return self.stats
