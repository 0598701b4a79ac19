"""Online ingestor: `features` topic → Feast push (PushMode.ONLINE) → Redis, at least once.

Each poll is one batch: validate, push the newest window per entity, acknowledge rejects in the
DLQ, then commit. Offsets are committed only after Feast wrote the batch, so a crash or a Redis
outage re-reads it, and Feast's Redis store skips rows not newer than the stored one, so a
re-read is harmless. While Redis is down the same batch is retried with bounded backoff and
nothing new is consumed. The mode is PushMode.ONLINE, not the string "online" (which Feast
0.67 silently ignores); the offline side is the Postgres backfill, not the push.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from dataclasses import dataclass, field
from signal import SIGINT, SIGTERM
from typing import Any

from confluent_kafka import Consumer
from redis.exceptions import RedisError

from streaming.features.rows import latest_per_entity, parse_records, push_frame
from streaming.features.store import PUSH_SOURCE
from streaming.kafka.config import consumer_config
from streaming.kafka.consume import commit_batch, consume_records
from streaming.metrics import StreamMetrics, serve
from streaming.settings import Settings
from streaming.sinks.dlq import DeadLetters

log = logging.getLogger("adnomaly.feast-ingestor")


@dataclass
class IngestStats:
    consumed: int = 0
    written: int = 0  # entity rows sent to Redis after keeping the newest window per entity
    rejected: int = 0
    batches: int = 0
    retries: int = 0
    first_record_at: float | None = None
    last_commit_at: float | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def rows_per_s(self) -> float:
        if self.first_record_at is None or self.last_commit_at is None:
            return 0.0
        return self.consumed / max(self.last_commit_at - self.first_record_at, 1e-9)

    def line(self) -> str:
        keys = ("consumed", "written", "rejected", "batches", "retries")
        data: dict[str, Any] = {k: getattr(self, k) for k in keys}
        return json.dumps({"service": "feast-ingestor", **data, "rows_s": round(self.rows_per_s)})


def _idle(assigned: list[float], last_data: float) -> float:
    """Seconds without records since partitions were first assigned: joining the group can take
    a session timeout after a crash, and time spent before the assignment is not an empty topic
    (counting it made a short --idle-exit end the run the moment partitions arrived)."""
    return time.monotonic() - max(last_data, assigned[0]) if assigned else 0.0


class FeatureIngestor:
    def __init__(
        self,
        settings: Settings,
        store: Any,
        topic: str | None = None,
        group_id: str | None = None,
        instance_id: str | None = None,
        batch_size: int = 5_000,
        poll_timeout_s: float = 0.5,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.store = store
        self.topic = topic or settings.features_topic
        self.redis_at = f"{settings.redis_host}:{settings.redis_port}"
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.max_backoff_s = max_backoff_s
        group = group_id or settings.feast_ingestor_group
        config = consumer_config(
            settings, "adnomaly-feast-ingestor-client", group, instance_id, "feast-ingestor"
        )
        self.consumer = Consumer(config)
        self.dlq = DeadLetters(settings, "feast-ingestor", self.topic)
        self.stats = IngestStats()
        self.stopping = False
        self.settings = settings
        group_name = group_id or settings.feast_ingestor_group
        self.metrics = StreamMetrics("feast-ingestor", instance_id, self.topic, group_name)

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def run(
        self, max_seconds: float | None = None, idle_exit_s: float | None = None
    ) -> IngestStats:
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (SIGTERM, SIGINT)}
        serve(self.settings, "feast-ingestor")
        assigned: list[float] = []  # idle time counts from the first partition assignment
        self.consumer.subscribe(
            [self.topic], on_assign=lambda _c, _parts: assigned.append(time.monotonic())
        )
        end = time.monotonic() + max_seconds if max_seconds else None
        last_data = time.monotonic()
        last_log = 0.0
        try:
            while not self.stopping and (end is None or time.monotonic() < end):
                if self._batch_once():
                    last_data = time.monotonic()
                elif idle_exit_s is not None and _idle(assigned, last_data) > idle_exit_s:
                    break
                if time.monotonic() - last_log > 5:
                    log.info(self.stats.line())
                    self.metrics.lag(self.consumer)
                    last_log = time.monotonic()
        finally:
            self.consumer.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info(self.stats.line())
        return self.stats

    def _batch_once(self) -> bool:
        good = consume_records(self.consumer, self.batch_size, self.poll_timeout_s, log)
        if not good:
            return False
        if self.stats.first_record_at is None:
            self.stats.first_record_at = time.monotonic()
        parsed, rejected = parse_records(good)
        latest = latest_per_entity([p.row for p in parsed])
        started = time.monotonic()
        if latest and not self._push(latest):
            return True  # stopping during an outage: uncommitted, re-read on restart
        newest = max((r.window_end.timestamp() for r in latest), default=None)
        self.metrics.batch_written(len(latest), len(good), time.monotonic() - started, newest)
        self.dlq.add(rejected)
        self.dlq.flush()
        if commit_batch(self.consumer, self.topic, good, log):
            self.stats.last_commit_at = time.monotonic()
            self.metrics.lag(self.consumer)
        self.metrics.consumed.inc(len(good))
        self.metrics.rejected.inc(len(rejected))
        self.stats.consumed += len(good)
        self.stats.written += len(latest)
        self.stats.rejected += len(rejected)
        self.stats.batches += 1
        return True

    def _push(self, rows: list[Any]) -> bool:
        from feast.data_source import PushMode

        frame = push_frame(rows)
        backoff = 0.2
        while True:
            try:
                self.store.push(PUSH_SOURCE, frame, to=PushMode.ONLINE)
                return True
            except RedisError as exc:
                if self.stopping:
                    log.warning("stopping with an unwritten batch (it will be re-read): %s", exc)
                    return False
                self.stats.retries += 1
                self.metrics.retries.inc()
                log.warning(
                    "Redis at %s unavailable, retrying in %.1fs: %s", self.redis_at, backoff, exc
                )
                time.sleep(backoff)  # bounded exponential backoff while Redis is down
                backoff = min(backoff * 2, self.max_backoff_s)
