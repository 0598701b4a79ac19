"""The consume → validate → write → commit loop every sink shares.

At-least-once delivery plus idempotent writes gives exactly-once effect: offsets are committed
only after the writer made the batch durable and every reject is acknowledged by the DLQ. A
failed write is retried with bounded backoff; nothing new is consumed meanwhile.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streaming.kafka.config import consumer_config
from streaming.settings import Settings
from streaming.sinks.dlq import DeadLetters
from streaming.sinks.records import Accepted, split

log = logging.getLogger("adnomaly.sink")


class TransientWriteError(RuntimeError):
    """The store is unreachable for now; the same batch is retried."""


class Writer(Protocol):
    name: str

    def add(self, batch: list[Accepted]) -> None: ...
    def due(self) -> bool: ...
    def flush(self, progress: dict[int, tuple[int, int]]) -> tuple[int, int]:
        """Make buffered records durable; returns (stored, duplicates skipped). `progress` is
        partition -> (last offset, records rejected) for the sink_progress table."""
        ...

    def discard(self, partitions: set[int]) -> None: ...


@dataclass
class SinkStats:
    consumed: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    flushes: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self, sink: str) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        data: dict[str, Any] = {"sink": sink, **self.__dict__, "eps": round(self.stored / elapsed)}
        data.pop("started")
        return json.dumps(data)


class SinkRunner:
    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        group_id: str,
        topic: str | None = None,
        batch_size: int = 10_000,
        poll_timeout_s: float = 0.2,
        max_backoff_s: float = 10.0,
        instance_id: str | None = None,
    ) -> None:
        self.topic = topic or settings.topic
        self.writer = writer
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.max_backoff_s = max_backoff_s
        config = consumer_config(settings, f"adnomaly-{writer.name}", group_id, instance_id)
        self.consumer = Consumer(config)
        self.assigned_at: float | None = None
        self.dlq = DeadLetters(settings, writer.name, self.topic)
        self.pending: dict[int, int] = {}  # partition -> last consumed offset, not yet committed
        self.pending_rejects: Counter[int] = Counter()
        self.stats = SinkStats()
        self.stopping = False

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Records of revoked partitions are uncommitted; their next owner re-reads them and the
        # idempotent writes make that harmless.
        revoked = {tp.partition for tp in partitions}
        self.writer.discard(revoked)
        for p in revoked:
            self.pending.pop(p, None)
            self.pending_rejects.pop(p, None)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if partitions:
            self.assigned_at = time.monotonic()

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def run(self, max_seconds: float | None = None, idle_exit_s: float | None = None) -> SinkStats:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        end = time.monotonic() + max_seconds if max_seconds else None
        last_data = time.monotonic()
        last_log = 0.0
        try:
            while not self.stopping and (end is None or time.monotonic() < end):
                if self._poll_once():
                    last_data = time.monotonic()
                elif idle_exit_s is not None and self._idle_for(last_data) > idle_exit_s:
                    break
                if self.pending and self.writer.due():
                    self._flush_and_commit()
                if time.monotonic() - last_log > 5:
                    log.info(self.stats.line(self.writer.name))
                    last_log = time.monotonic()
            if self.pending:
                self._flush_and_commit()
        finally:
            self.consumer.close()
        log.info(self.stats.line(self.writer.name))
        return self.stats

    def _idle_for(self, last_data: float) -> float:
        """Idle time counts only once partitions are assigned: joining a group can take a
        session timeout after a crash, and that is not an empty topic."""
        if self.assigned_at is None:
            return 0.0
        return time.monotonic() - max(last_data, self.assigned_at)

    def _poll_once(self) -> bool:
        messages: list[Message] = self.consumer.consume(self.batch_size, self.poll_timeout_s)
        good = []
        for msg in messages:
            err = msg.error()
            if err is None:
                good.append(msg)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", err)
        if not good:
            return False
        accepted, rejected = split(good)
        self.writer.add(accepted)
        self.dlq.add(rejected)
        for msg in good:
            self.pending[msg.partition() or 0] = msg.offset() or 0
        self.pending_rejects.update(r.partition for r in rejected)
        self.stats.consumed += len(good)
        self.stats.rejected += len(rejected)
        return True

    def _flush_and_commit(self) -> None:
        backoff = 0.2
        while True:
            try:
                progress = {p: (o, self.pending_rejects[p]) for p, o in self.pending.items()}
                stored, dupes = self.writer.flush(progress)
                break
            except TransientWriteError as exc:
                if self.stopping:
                    log.warning("stopping with an unwritten batch (it will be re-read): %s", exc)
                    self.pending.clear()
                    self.pending_rejects.clear()
                    return
                self.stats.retries += 1
                log.warning(
                    "%s write failed, retrying in %.1fs: %s", self.writer.name, backoff, exc
                )
                time.sleep(backoff)  # bounded exponential backoff while the store is down
                backoff = min(backoff * 2, self.max_backoff_s)
        self.dlq.flush()
        offsets = [TopicPartition(self.topic, p, o + 1) for p, o in self.pending.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # e.g. a rebalance took the partitions: the new owner re-reads, writes are idempotent
            log.warning("offset commit failed (records will be re-read): %s", exc)
        self.pending.clear()
        self.pending_rejects.clear()
        self.stats.stored += stored
        self.stats.duplicates += dupes
        self.stats.flushes += 1
