"""What chaos produced, and where it ended up.

`SteadyProducer` sends clean generated events at a steady rate from a background thread and
keeps every event id it sent, per phase; `Stores` counts those ids in PostgreSQL and in the
lake (each object read once per ETag), so "stored", "duplicated" and "lost" are counts of the
very events produced, whatever else the stores hold.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adnomaly_ops.chaos.faults import CLIENT_LOG
from streaming.db.connect import connect
from streaming.generator import TrafficGenerator
from streaming.producer import ClickProducer
from streaming.s3 import s3_client
from streaming.settings import Settings

TICK_S = 0.1
_EVENT_ID = re.compile(rb'"event_id":\s*"([0-9a-f]{32})"')


@dataclass
class Phase:
    """The events of one fault's phase: ids and the event-time span they cover."""

    ids: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    produce_errors: int = 0  # events the broker never acknowledged (after the client's retries)

    def add(self, ids: list[str], first: datetime, last: datetime) -> None:
        self.ids.extend(ids)
        self.first = min(self.first or first, first)
        self.last = max(self.last or last, last)

    def merge(self, other: Phase) -> None:
        if other.first and other.last:
            self.add(other.ids, other.first, other.last)
        self.produce_errors += other.produce_errors


class SteadyProducer:
    """Clean events at `rate` per second, stamped with the time they are generated."""

    def __init__(self, settings: Settings, rate: float, seed: int) -> None:
        self.rate = rate
        self.gen = TrafficGenerator(seed, settings.hash_salt.get_secret_value(), fraud=False)
        self.producer = ClickProducer(settings, logger=CLIENT_LOG)
        self.phase = Phase()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failed_before = 0

    def start(self) -> None:
        self.phase = Phase()
        self._failed_before = self.producer.stats.failed
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="chaos-producer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        started, sent = time.monotonic(), 0
        while not self._stop.wait(TICK_S):
            due = int(self.rate * (time.monotonic() - started)) - sent
            if due <= 0:
                continue
            now = datetime.now(UTC)
            batch = self.gen.batch(due, now - timedelta(seconds=TICK_S), now)
            self.producer.send_batch(batch)
            stamps = batch.ts_ms
            with self._lock:
                self.phase.add(
                    batch.event_ids(),
                    datetime.fromtimestamp(int(stamps.min()) / 1000, UTC),
                    datetime.fromtimestamp(int(stamps.max()) / 1000, UTC),
                )
            sent += len(batch)

    def stop(self, deadline_s: float = 180.0) -> Phase:
        """Stop producing and wait until the broker acknowledged every event (a broker restart
        delays acknowledgements; the idempotent producer retries without duplicating)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.producer.flush(deadline_s)
        with self._lock:
            self.phase.produce_errors = self.producer.stats.failed - self._failed_before
            return self.phase


@dataclass
class Counted:
    stored: int
    duplicated: int

    def lost(self, produced: int) -> int:
        return produced - self.stored


class Stores:
    """Counts of a phase's event ids in PostgreSQL and in the lake."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.s3: Any = s3_client(settings)
        self._objects: dict[str, tuple[str, Counter[str]]] = {}

    def postgres(self, phase: Phase) -> Counted:
        if not phase.ids or phase.first is None or phase.last is None:
            return Counted(0, 0)
        with connect(self.settings) as conn:
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM clickstream_events"
                ' WHERE "timestamp" BETWEEN %s AND %s AND event_id = ANY(%s)',
                (phase.first, phase.last, phase.ids),
            ).fetchone() or (0, 0)
        return Counted(int(distinct), int(rows) - int(distinct))

    def ingested_at(self, phase: Phase) -> list[datetime]:
        """The distinct times a phase's events were stored in PostgreSQL (each sink batch's
        transaction time), in order."""
        if not phase.ids or phase.first is None or phase.last is None:
            return []
        with connect(self.settings) as conn:
            rows = conn.execute(
                "SELECT DISTINCT ingested_at FROM clickstream_events"
                ' WHERE "timestamp" BETWEEN %s AND %s AND event_id = ANY(%s) ORDER BY 1',
                (phase.first, phase.last, phase.ids),
            ).fetchall()
        return [r[0] for r in rows]

    def lake(self, phase: Phase) -> Counted:
        if not phase.ids or phase.first is None or phase.last is None:
            return Counted(0, 0)
        seen: Counter[str] = Counter()
        hour = phase.first.replace(minute=0, second=0, microsecond=0)
        while hour <= phase.last:
            for counts in self._hour_objects(f"{self.settings.lake_prefix}/{hour:%Y/%m/%d/%H}/"):
                seen.update(counts)
            hour += timedelta(hours=1)
        stored = sum(1 for i in phase.ids if seen[i])
        duplicated = sum(seen[i] - 1 for i in phase.ids if seen[i] > 1)
        return Counted(stored, duplicated)

    def _hour_objects(self, prefix: str) -> list[Counter[str]]:
        """Event-id counts of every object under `prefix`; an object is re-read only when its
        ETag changed (a redelivery overwrites it)."""
        out = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.minio_bucket, Prefix=prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                cached = self._objects.get(key)
                if cached is None or cached[0] != etag:
                    body = self.s3.get_object(Bucket=self.settings.minio_bucket, Key=key)["Body"]
                    ids = Counter(m.decode() for m in _EVENT_ID.findall(body.read()))
                    self._objects[key] = cached = (etag, ids)
                out.append(cached[1])
        return out


def longest_gap(stored: list[datetime], first: datetime, last: datetime) -> float:
    """Seconds of the longest stretch with no event reaching the store while events were being
    produced (from `first` to `last`, the phase's first and last event): between the start and
    the first store, between consecutive stores, and from the last store before `last` to the
    next one (the store that ended the stretch)."""
    points = [first, *sorted(t for t in stored if t > first)]
    longest = 0.0
    for before, after in itertools.pairwise(points):
        longest = max(longest, (after - before).total_seconds())
        if after >= last:
            break
    else:  # nothing stored at or after the last event: the stretch lasts to its end at least
        longest = max(longest, (last - points[-1]).total_seconds())
    return longest
