"""MinIO lake sink: JSON Lines objects under clickstream/YYYY/MM/DD/HH/ by event time.

Exactly-once without coordination: a flush covers every partition's records from its committed
offset on, and each object is named by (event hour, Kafka partition, first offset in it). After
a crash the batch restarts at the same committed offset, so the first object of each hour
gets the same name and overwrites its earlier copy instead of duplicating it; records past a
shorter rewrite land in later objects whose first offsets are new.
"""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from streaming.db.connect import connect
from streaming.s3 import s3_client
from streaming.settings import Settings
from streaming.sinks.db import PROGRESS_SQL
from streaming.sinks.records import Accepted
from streaming.sinks.runner import TransientWriteError


def object_key(prefix: str, hour_path: str, partition: int, first_offset: int) -> str:
    return f"{prefix}/{hour_path}/part-{partition:03d}-{first_offset:020d}.jsonl"


def _hour_path(epoch_hour: int) -> str:
    return datetime.fromtimestamp(epoch_hour * 3600, UTC).strftime("%Y/%m/%d/%H")


class LakeWriter:
    name = "lake-sink"
    commit_before_next = True  # objects are named by first offset (runner.Writer)

    def __init__(
        self,
        settings: Settings,
        prefix: str | None = None,
        max_bytes: int = 8 * 1024 * 1024,
        max_age_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.bucket = settings.minio_bucket
        self.prefix = prefix or settings.lake_prefix
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.client: Any = s3_client(settings)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lake-put")
        self.buffer: list[Accepted] = []
        self.bytes = 0
        self.first_at: float | None = None
        self.bucket_ready = False

    def add(self, batch: Accepted) -> None:
        if len(batch) and self.first_at is None:
            self.first_at = time.monotonic()
        self.buffer.append(batch)
        self.bytes += sum(map(len, batch.raw)) + len(batch)

    def due(self) -> bool:
        if self.bytes >= self.max_bytes:
            return True
        return self.first_at is not None and time.monotonic() - self.first_at >= self.max_age_s

    def discard(self, partitions: set[int]) -> None:
        self.buffer = [b.without(partitions) for b in self.buffer]
        self.bytes = sum(sum(map(len, b.raw)) + len(b) for b in self.buffer)

    def take(self) -> Accepted:
        records = Accepted.concat(self.buffer)
        self.buffer, self.bytes, self.first_at = [], 0, None
        return records

    def objects(self, records: Accepted) -> dict[str, bytes]:
        """Group records into objects: one per (event hour, partition), records in consumption
        order (so each object's name carries its first offset)."""
        hours = records.ts_ms // 3_600_000
        order = np.lexsort((np.arange(len(records)), records.partition, hours))
        hours, partitions = hours[order], records.partition[order]
        edges = np.flatnonzero((np.diff(hours) != 0) | (np.diff(partitions) != 0)) + 1
        bounds = [0, *edges.tolist(), len(records)]
        raw, rows, objects = records.raw, order.tolist(), {}
        for lo, hi in itertools.pairwise(bounds):
            first = rows[lo]
            key = object_key(
                self.prefix,
                _hour_path(int(hours[lo])),
                int(partitions[lo]),
                int(records.offset[first]),
            )
            objects[key] = b"\n".join([raw[i] for i in rows[lo:hi]]) + b"\n"
        return objects

    def write(self, records: Accepted, progress: dict[int, tuple[int, int]]) -> tuple[int, int]:
        try:
            self._ensure_bucket()
            objects = self.objects(records)
            futures = [
                self.pool.submit(self.client.put_object, Bucket=self.bucket, Key=k, Body=v)
                for k, v in objects.items()
            ]
            for future in futures:
                future.result()
        except (BotoCoreError, ClientError, EndpointConnectionError) as exc:
            raise TransientWriteError(f"MinIO {self.settings.minio_endpoint}: {exc}") from exc
        self._record_progress(records, progress)
        return len(records), 0

    def _ensure_bucket(self) -> None:
        if self.bucket_ready:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)
        self.bucket_ready = True

    def _record_progress(self, records: Accepted, progress: dict[int, tuple[int, int]]) -> None:
        """Best effort: the lake's own durability never waits on PostgreSQL."""
        partitions, n = np.unique(records.partition, return_counts=True)
        counts = dict(zip(partitions.tolist(), n.tolist(), strict=True))
        rows = [
            (self.name, p, last, counts.get(p, 0), 0, rejected)
            for p, (last, rejected) in progress.items()
        ]
        try:
            with connect(self.settings) as conn, conn.cursor() as cur:
                cur.executemany(PROGRESS_SQL, rows)
        except (ConnectionError, OSError, Exception):  # noqa: BLE001 (metrics only)
            return
