"""The consume → validate → write → commit loop every sink shares.

At-least-once delivery plus idempotent writes gives exactly-once effect: offsets are committed
only after the writer made the batch durable and every reject is acknowledged by the DLQ. A
failed write is retried with bounded backoff; meanwhile the next batch grows to its cap
(`max_pending` records) and consumption then waits.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from numpy.typing import NDArray

from streaming.kafka.config import consumer_config
from streaming.kafka.consume import FatalConsumerError, consume_records
from streaming.metrics import StreamMetrics, serve
from streaming.settings import Settings
from streaming.sinks.dlq import DeadLetters
from streaming.sinks.records import Accepted, split

log = logging.getLogger("adnomaly.sink")

COMMIT_RETRY_S = 60.0
# A fetch waits for this much data (or fetch.wait.max.ms, 100 ms): a sink that keeps up would
# otherwise fetch whatever arrived since its last fetch, many small requests a second, each a
# request the broker serves on its own
FETCH = {"fetch.min.bytes": 1_048_576}
_FENCED = frozenset({KafkaError._FATAL, KafkaError.FENCED_INSTANCE_ID})
# the group coordinator is restarting or moving: the same commit succeeds a little later
_COORDINATOR_MOVING = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
    }
)


class TransientWriteError(RuntimeError):
    """The store is unreachable for now; the same batch is retried."""


class Writer(Protocol):
    """A store. `write` runs on the runner's worker thread, one call at a time, so the next
    batch is consumed and validated while the store is busy with this one."""

    name: str
    # Whether the next batch must wait until this one's offsets are committed: the lake names
    # objects by first offset, so a replay from an older committed offset, split differently,
    # would not overwrite them. The db dedupes rows by event_id in the write's transaction, so
    # it commits without waiting, and a coordinator moving (a Kafka node lost) does not stop
    # its writes.
    commit_before_next: bool

    def add(self, batch: Accepted) -> None: ...
    def due(self) -> bool: ...
    def take(self) -> Accepted:
        """Hand over the buffered records; the buffer starts empty again."""
        ...

    def write(self, records: Accepted, progress: dict[int, tuple[int, int]]) -> tuple[int, int]:
        """Make `records` durable; returns (stored, duplicates skipped). `progress` is
        partition -> (last offset, records rejected) for the sink_progress table."""
        ...

    def discard(self, partitions: set[int]) -> None: ...


@dataclass
class Batch:
    """Records handed to the store plus what is committed once they are durable."""

    records: Accepted
    offsets: dict[int, int]
    rejects: Counter[int]
    times: list[NDArray[np.int64]]  # event times (epoch ms), kept only for `on_commit`

    @staticmethod
    def empty() -> Batch:
        return Batch(Accepted.empty(), {}, Counter(), [])


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
        on_commit: Callable[[NDArray[np.int64]], None] | None = None,
    ) -> None:
        self.topic = topic or settings.topic
        self.writer = writer
        self.settings = settings
        self.metrics = StreamMetrics(writer.name, instance_id, self.topic, group_id)
        self.batch_size = batch_size
        self.max_pending = 8 * batch_size
        self.pending_records = 0
        self.poll_timeout_s = poll_timeout_s
        self.max_backoff_s = max_backoff_s
        config = consumer_config(
            settings, f"adnomaly-{writer.name}", group_id, instance_id, principal=writer.name
        )
        config.update(FETCH)
        self.consumer = Consumer(config)
        self.assigned_at: float | None = None
        self.dlq = DeadLetters(settings, writer.name, self.topic)
        self.pending = Batch.empty()  # consumed, not yet handed to the store
        self.inflight: tuple[Batch, Future[tuple[int, int] | None]] | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{writer.name}-write")
        self.stats = SinkStats()
        self.on_commit = on_commit  # sees the event times (epoch ms) of each committed batch
        self.stopping = False

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Commit what is already being written; records of revoked partitions not yet handed
        # over are dropped uncommitted: their next owner re-reads them, writes are idempotent.
        self._reap(block=True, revoking=True)
        revoked = {tp.partition for tp in partitions}
        self.writer.discard(revoked)
        for p in revoked:
            self.pending.offsets.pop(p, None)
            self.pending.rejects.pop(p, None)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if partitions:
            self.assigned_at = time.monotonic()

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def run(
        self,
        max_seconds: float | None = None,
        idle_exit_s: float | None = None,
        stop_after: int | None = None,
    ) -> SinkStats:
        """Consume until stopped, `max_seconds`, `idle_exit_s` without records (once assigned)
        or `stop_after` records handled (stored, duplicate or rejected)."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        serve(self.settings, self.writer.name)
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        end = time.monotonic() + max_seconds if max_seconds else None
        last_data = time.monotonic()
        last_log = 0.0
        try:
            while not self.stopping and (end is None or time.monotonic() < end):
                if stop_after is not None and self._handled() >= stop_after:
                    break
                polled = self._poll_once()
                if polled:
                    last_data = time.monotonic()
                elif idle_exit_s is not None and self._idle_for(last_data) > idle_exit_s:
                    break
                # caught up (an empty poll) is as good a reason to write as size or age; while
                # the store is busy with the last batch, keep consuming into this one instead
                # of waiting (bigger transactions when the store is the bottleneck), up to a cap
                wanted = bool(self.pending.offsets) and (self.writer.due() or not polled)
                if wanted and (self._store_idle() or self.pending_records >= self.max_pending):
                    self._dispatch()
                self._reap(block=False)
                if time.monotonic() - last_log > 5:
                    log.info(self.stats.line(self.writer.name))
                    self.metrics.lag(self.consumer)
                    last_log = time.monotonic()
            if self.pending.offsets:
                self._dispatch()  # a graceful stop finishes its batch first
            self._reap(block=True)
        finally:
            self.pool.shutdown(wait=True)
            self.consumer.close()
        log.info(self.stats.line(self.writer.name))
        return self.stats

    def _handled(self) -> int:
        return self.stats.stored + self.stats.duplicates + self.stats.rejected

    def _idle_for(self, last_data: float) -> float:
        """Idle time counts only once partitions are assigned: joining a group can take a
        session timeout after a crash, and that is not an empty topic."""
        if self.assigned_at is None:
            return 0.0
        return time.monotonic() - max(last_data, self.assigned_at)

    def _poll_once(self) -> bool:
        good = consume_records(self.consumer, self.batch_size, self.poll_timeout_s, log)
        if not good:
            return False
        polled = split(good)
        self.writer.add(polled.accepted)
        self.pending_records += len(good)
        self.dlq.add(polled.rejected)
        self.pending.offsets.update(polled.last_offsets)
        self.pending.rejects.update(r.partition for r in polled.rejected)
        if self.on_commit is not None:
            self.pending.times.append(polled.accepted.ts_ms)
        self.stats.consumed += len(good)
        self.stats.rejected += len(polled.rejected)
        self.metrics.consumed.inc(len(good))
        self.metrics.rejected.inc(len(polled.rejected))
        return True

    def _dispatch(self) -> None:
        """Hand the pending batch to the worker; at most one write is in flight."""
        self._reap(block=True)
        batch = self.pending
        batch.records = self.writer.take()
        self.pending, self.pending_records = Batch.empty(), 0
        self.inflight = (batch, self.pool.submit(self._write_with_retry, batch))

    def _store_idle(self) -> bool:
        return self.inflight is None or self.inflight[1].done()

    def _write_with_retry(self, batch: Batch) -> tuple[int, int] | None:
        backoff = 0.2
        progress = {p: (o, batch.rejects[p]) for p, o in batch.offsets.items()}
        started = time.monotonic()
        while True:
            try:
                stored, dupes = self.writer.write(batch.records, progress)
                ts = batch.records.ts_ms
                newest = float(ts.max()) / 1000 if len(ts) else None
                self.metrics.batch_written(stored, len(ts), time.monotonic() - started, newest)
                return stored, dupes
            except TransientWriteError as exc:
                if self.stopping:
                    log.warning("stopping with an unwritten batch (it will be re-read): %s", exc)
                    return None
                self.stats.retries += 1
                self.metrics.retries.inc()
                log.warning(
                    "%s write failed, retrying in %.1fs: %s", self.writer.name, backoff, exc
                )
                time.sleep(backoff)  # bounded exponential backoff while the store is down
                backoff = min(backoff * 2, self.max_backoff_s)

    def _commit(self, offsets: list[TopicPartition], retry: bool) -> bool:
        """Commit a written batch, retrying while the group coordinator moves (a broker
        restart). No later batch is written before this one is committed: a writer that names
        its output by first offset (the lake) would otherwise leave objects that a replay from
        the committed offset, split differently, does not overwrite. When the commit cannot
        be made (the partitions went to another member, or COMMIT_RETRY_S passed), the
        partitions are rewound to their committed offsets so the next write starts exactly
        where any replay starts."""
        if not self.writer.commit_before_next:
            return self._commit_async(offsets)
        end = time.monotonic() + COMMIT_RETRY_S
        backoff = 0.2
        while True:
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
                return True
            except KafkaException as exc:
                error = exc.args[0]
                if error.fatal() or error.code() in _FENCED:
                    # a static member fenced after a broker restart: only a new consumer can go
                    # on, so the service exits and its supervisor starts it again
                    raise FatalConsumerError(
                        f"fatal commit error, restart needed: {error}"
                    ) from exc
                moving = error.code() in _COORDINATOR_MOVING
                if retry and moving and time.monotonic() < end and not self.stopping:
                    log.warning("offset commit failed, retrying in %.1fs: %s", backoff, exc)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                log.warning("offset commit failed (records will be re-read): %s", exc)
                self._rewind({tp.partition for tp in offsets})
                return False

    def _commit_async(self, offsets: list[TopicPartition]) -> bool:
        """Queue the commit and go on writing: librdkafka sends it once the coordinator answers;
        a commit that never lands means records re-read and skipped as duplicates."""
        try:
            self.consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            error = exc.args[0]
            if error.fatal() or error.code() in _FENCED:
                raise FatalConsumerError(f"fatal commit error, restart needed: {error}") from exc
            log.warning("offset commit not queued (records will be re-read): %s", exc)
            return False
        return True

    def _rewind(self, partitions: set[int]) -> None:
        """Forget what was read past the committed offsets of `partitions` and read on from
        there (a partition no longer ours is its new owner's to re-read)."""
        self.writer.discard(partitions)
        for p in partitions:
            self.pending.offsets.pop(p, None)
            self.pending.rejects.pop(p, None)
        try:
            wanted = [TopicPartition(self.topic, p) for p in partitions]
            for tp in self.consumer.committed(wanted, timeout=10):
                self.consumer.seek(
                    TopicPartition(
                        tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                    )
                )
        except KafkaException as exc:
            log.warning("rewind to the committed offsets failed: %s", exc)

    def _reap(self, block: bool, revoking: bool = False) -> None:
        """Commit the in-flight batch's offsets once its write is durable and its rejects are
        acknowledged by the DLQ."""
        if self.inflight is None or not (block or self.inflight[1].done()):
            return
        batch, future = self.inflight
        self.inflight = None
        result = future.result()
        if result is None:
            return
        self.dlq.flush()
        offsets = [TopicPartition(self.topic, p, o + 1) for p, o in batch.offsets.items()]
        if self._commit(offsets, retry=not revoking):
            self.metrics.lag(self.consumer, offsets)
        if self.on_commit is not None:
            self.on_commit(np.concatenate(batch.times) if batch.times else np.zeros(0, np.int64))
        stored, dupes = result
        self.stats.stored += stored
        self.stats.duplicates += dupes
        self.stats.flushes += 1
