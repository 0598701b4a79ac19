"""MinIO lake sink: JSON Lines objects under clickstream/YYYY/MM/DD/HH/ by event time.

Exactly-once without coordination: a flush covers every partition's records from its committed
offset on, and each object is named by (event hour, Kafka partition, first offset in it). After
a crash the batch restarts at the same committed offset, so the first object of each hour
gets the same name and overwrites its earlier copy instead of duplicating it; records past a
shorter rewrite land in later objects whose first offsets are new.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from streaming.db.connect import connect
from streaming.settings import Settings
from streaming.sinks.db import PROGRESS_SQL
from streaming.sinks.records import Accepted
from streaming.sinks.runner import TransientWriteError
from streaming.stack.provision import s3_client


def object_key(prefix: str, hour_path: str, partition: int, first_offset: int) -> str:
    return f"{prefix}/{hour_path}/part-{partition:03d}-{first_offset:020d}.jsonl"


def _hour_path(epoch_hour: int) -> str:
    return datetime.fromtimestamp(epoch_hour * 3600, UTC).strftime("%Y/%m/%d/%H")


class LakeWriter:
    name = "lake-sink"

    def __init__(
        self,
        settings: Settings,
        prefix: str = "clickstream",
        max_bytes: int = 8 * 1024 * 1024,
        max_age_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.bucket = settings.minio_bucket
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.client: Any = s3_client(settings)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lake-put")
        self.buffer: list[Accepted] = []
        self.bytes = 0
        self.first_at: float | None = None
        self.bucket_ready = False

    def add(self, batch: list[Accepted]) -> None:
        if batch and self.first_at is None:
            self.first_at = time.monotonic()
        self.buffer.extend(batch)
        self.bytes += sum(len(a.raw) + 1 for a in batch)

    def due(self) -> bool:
        if self.bytes >= self.max_bytes:
            return True
        return self.first_at is not None and time.monotonic() - self.first_at >= self.max_age_s

    def discard(self, partitions: set[int]) -> None:
        self.buffer = [a for a in self.buffer if a.partition not in partitions]
        self.bytes = sum(len(a.raw) + 1 for a in self.buffer)

    def take(self) -> list[Accepted]:
        records = self.buffer
        self.buffer, self.bytes, self.first_at = [], 0, None
        return records

    def objects(self, records: list[Accepted]) -> dict[str, bytes]:
        """Group records into objects: one per (event hour, partition) run of records."""
        groups: dict[tuple[int, int], list[Accepted]] = defaultdict(list)
        for a in records:  # the hour as an integer per record; its path is formatted per group
            groups[(int(a.timestamp.timestamp()) // 3600, a.partition)].append(a)
        return {
            object_key(self.prefix, _hour_path(hour), part, recs[0].offset): b"\n".join(
                r.raw for r in recs
            )
            + b"\n"
            for (hour, part), recs in groups.items()
        }

    def write(
        self, records: list[Accepted], progress: dict[int, tuple[int, int]]
    ) -> tuple[int, int]:
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

    def _record_progress(
        self, records: list[Accepted], progress: dict[int, tuple[int, int]]
    ) -> None:
        """Best effort: the lake's own durability never waits on PostgreSQL."""
        counts: dict[int, int] = defaultdict(int)
        for a in records:
            counts[a.partition] += 1
        rows = [(self.name, p, last, counts[p], 0, rej) for p, (last, rej) in progress.items()]
        try:
            with connect(self.settings) as conn, conn.cursor() as cur:
                cur.executemany(PROGRESS_SQL, rows)
        except (ConnectionError, OSError, Exception):  # noqa: BLE001 (metrics only)
            return
