"""Offline backfill: PostgreSQL feature_aggregates → Parquet partitioned by day for Feast.

Feast's file offline store reads the whole `<offline dir>/<view>/` tree (hive layout
`day=YYYY-MM-DD/part-0.parquet`) and does the point-in-time join itself, keyed on `window_end`.
A day is written to a hidden temporary file and renamed over its partition, so a rerun replaces
the day whole, a reader never sees half a file, and a day without rows loses its partition.
Float features are stored as float32, the feature view's type, so offline and online values agree.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.features.store import FeastPaths
from streaming.settings import Settings

TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("geo", pa.string()),
        ("platform", pa.string()),
        ("window_start", TS),
        ("window_end", TS),
        ("ctr_avg", pa.float32()),
        ("bounce_rate_avg", pa.float32()),
        ("event_count", pa.int64()),
        ("cpc_avg", pa.float32()),
        ("conversion_rate", pa.float32()),
        ("unique_users", pa.int64()),
        ("events_per_user", pa.float32()),
        ("suspicious_ua_share", pa.float32()),
    ]
)
COLUMNS = ", ".join(SCHEMA.names)
DAY_QUERY = (
    f"SELECT {COLUMNS} FROM feature_aggregates"  # noqa: S608 (column names are constants)
    " WHERE window_end >= %s AND window_end < %s ORDER BY window_end, geo, platform"
)
RANGE_QUERY = "SELECT min(window_end), max(window_end) FROM feature_aggregates"


@dataclass(frozen=True)
class DayExport:
    day: date
    rows: int
    path: Path | None  # None: the day has no rows and no partition


def partition_dir(paths: FeastPaths, day: date) -> Path:
    return paths.view_dir / f"day={day.isoformat()}"


def _days(conn: psycopg.Connection, start: date | None, end: date | None) -> list[date]:
    if start is None or end is None:
        row = conn.execute(RANGE_QUERY).fetchone()
        if row is None or row[0] is None:
            return []
        start = start or row[0].astimezone(UTC).date()
        end = end or row[1].astimezone(UTC).date()
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _write_day(paths: FeastPaths, day: date, rows: list[tuple[object, ...]]) -> DayExport:
    target = partition_dir(paths, day)
    if not rows:
        shutil.rmtree(target, ignore_errors=True)
        return DayExport(day, 0, None)
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        [pa.array(col, type=field.type) for col, field in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )
    target.mkdir(parents=True, exist_ok=True)
    final = target / "part-0.parquet"
    tmp = target / f".part-0.parquet.{os.getpid()}.tmp"  # dot-files are invisible to readers
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, final)
    return DayExport(day, len(rows), final)


def backfill(
    settings: Settings, paths: FeastPaths, start: date | None = None, end: date | None = None
) -> list[DayExport]:
    """Export every UTC day in [start, end] (default: all days with rows); rerunnable.

    Migrations run first, as in every writer of the project, so a fresh database exports
    nothing instead of failing on a missing table."""
    exports = []
    with connect(settings) as conn:
        migrate(conn)
        for day in _days(conn, start, end):
            lo = datetime.combine(day, time(), tzinfo=UTC)
            rows = conn.execute(DAY_QUERY, (lo, lo + timedelta(days=1))).fetchall()
            exports.append(_write_day(paths, day, rows))
    return exports
