"""PostgreSQL sink: each batch's validated columns are joined into COPY rows by pyarrow (no
Python per row) and COPYed straight into the daily-partitioned `clickstream_events`. A batch
holding an already stored event (a redelivery) rolls back to a savepoint and goes through a
staging table with ON CONFLICT DO NOTHING instead, in the same transaction as the sink_progress
rows, so a redelivered batch stores nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from psycopg import sql

from streaming.db.connect import DatabaseUnavailableError, connect
from streaming.db.migrations import migrate
from streaming.settings import Settings
from streaming.sinks.records import Accepted
from streaming.sinks.runner import TransientWriteError

COLUMN_NAMES = (
    "event_id",
    "timestamp",
    "user_id_hash",
    "ad_id",
    "campaign_id",
    "geo",
    "platform",
    "user_agent",
    "cpc",
    "ctr",
    "conversion",
    "bounce_rate",
    "kafka_partition",
    "kafka_offset",
)
_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES))
# the contract's field each column is read from (the Kafka position columns come from the record)
_FIELD_OF = {"cpc": "CPC", "ctr": "CTR"}
_STAGING = sql.SQL(
    "CREATE TEMP TABLE IF NOT EXISTS clickstream_copy ON COMMIT DELETE ROWS AS"
    " SELECT {} FROM clickstream_events WITH NO DATA"
).format(_COLUMNS)
_COPY_DIRECT = sql.SQL("COPY clickstream_events ({}) FROM STDIN").format(_COLUMNS)
_COPY = sql.SQL("COPY clickstream_copy ({}) FROM STDIN").format(_COLUMNS)
_MOVE = sql.SQL(
    "INSERT INTO clickstream_events ({c}) SELECT {c} FROM clickstream_copy"
    " ON CONFLICT DO NOTHING RETURNING kafka_partition"
).format(c=_COLUMNS)
# COPY text format: backslash first, so the escapes added after it stay single
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_TAB, _NEWLINE, _NOTHING = pa.scalar("\t"), pa.scalar("\n"), pa.scalar("")
_EPOCH_DAY = date(1970, 1, 1)
_MS_PER_DAY = 86_400_000


def copy_rows(records: Accepted) -> bytes:
    """The batch as rows of COPY's text format, in COLUMN_NAMES order, joined by pyarrow (no
    Python per row): text as validated, floats in their shortest round-trip form, the timestamp
    as its wire text (UTC, `Z`), so PostgreSQL stores exactly the values that were checked.

    A decoded JSON string can hold a tab, newline, CR or backslash only through a backslash
    escape in the JSON (raw control characters are invalid there), so text is escaped for COPY
    only when some record's bytes hold a backslash at all."""
    escape = b"\\" in b"".join(records.raw)
    columns = [_text(records.table.column(_FIELD_OF.get(n, n)), escape) for n in COLUMN_NAMES[:-2]]
    columns.append(pa.array(records.partition).cast(pa.string()))
    offsets = pa.array(records.offset).cast(pa.string())
    columns.append(pc.binary_join_element_wise(offsets, _NEWLINE, _NOTHING))
    rows = pc.binary_join_element_wise(*columns, _TAB)
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    ends = np.frombuffer(rows.buffers()[1], np.int32)[[rows.offset, rows.offset + len(rows)]]
    return bytes(rows.buffers()[2][int(ends[0]) : int(ends[1])].to_pybytes())


def _text(column: Any, escape: bool) -> Any:
    if not pa.types.is_string(column.type):
        return column.cast(pa.string())
    if escape:
        for raw, escaped in _ESCAPES:
            column = pc.replace_substring(column, raw, escaped)
    return column


def days(records: Accepted) -> list[date]:
    """The UTC days the batch's events fall on (one partition each)."""
    numbers = np.unique(records.ts_ms // _MS_PER_DAY).tolist()
    return [_EPOCH_DAY + timedelta(days=d) for d in numbers]


PROGRESS_SQL = (
    "INSERT INTO sink_progress AS p"
    " (sink, kafka_partition, last_offset, stored, duplicates, rejected)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sink, kafka_partition) DO UPDATE SET"
    " last_offset = greatest(p.last_offset, excluded.last_offset),"
    " stored = p.stored + excluded.stored, duplicates = p.duplicates + excluded.duplicates,"
    " rejected = p.rejected + excluded.rejected, updated_at = now()"
)


class DbWriter:
    name = "db-sink"
    commit_before_next = False  # rows dedupe by event_id in the transaction (runner.Writer)

    def __init__(self, settings: Settings, schema: str | None = None) -> None:
        self.settings = settings
        self.schema = schema
        self.conn: psycopg.Connection | None = None
        self.days: set[date] = set()
        self.buffer: list[Accepted] = []

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            try:
                self.conn = connect(self.settings, schema=self.schema)
            except DatabaseUnavailableError as exc:
                raise TransientWriteError(str(exc)) from exc
            migrate(self.conn)
            self.conn.execute(_STAGING)
            self.conn.commit()
            self.days.clear()
        return self.conn

    def add(self, batch: Accepted) -> None:
        self.buffer.append(batch)

    def due(self) -> bool:
        return True  # one transaction per polled batch keeps produce→Postgres latency low

    def discard(self, partitions: set[int]) -> None:
        self.buffer = [b.without(partitions) for b in self.buffer]

    def take(self) -> Accepted:
        records, self.buffer = Accepted.concat(self.buffer), []
        return records

    def write(self, records: Accepted, progress: dict[int, tuple[int, int]]) -> tuple[int, int]:
        try:
            stored = self._write(self._connection(), records, progress)
        except psycopg.OperationalError as exc:
            if self.conn is not None:
                self.conn.close()
            raise TransientWriteError(f"PostgreSQL: {exc}") from exc
        return stored, len(records) - stored

    def _write(
        self, conn: psycopg.Connection, batch: Accepted, progress: dict[int, tuple[int, int]]
    ) -> int:
        for day in set(days(batch)) - self.days:
            with conn.transaction():
                conn.execute("SELECT ensure_clickstream_partition(%s)", (day,))
            self.days.add(day)
        partitions, counts = np.unique(batch.partition, return_counts=True)
        seen = Counter(dict(zip(partitions.tolist(), counts.tolist(), strict=True)))
        with conn.transaction(), conn.cursor() as cur:
            stored = self._insert(conn, cur, copy_rows(batch), seen) if len(batch) else Counter()
            cur.executemany(
                PROGRESS_SQL,
                [
                    (self.name, p, last, stored[p], seen[p] - stored[p], rejected)
                    for p, (last, rejected) in progress.items()
                ],
            )
        return stored.total()

    @staticmethod
    def _insert(
        conn: psycopg.Connection, cur: psycopg.Cursor[Any], rows: bytes, seen: Counter[int]
    ) -> Counter[int]:
        """COPY straight into the table, the fast path; a batch holding an already stored event
        (a redelivery after a crash) rolls back to the savepoint and goes through staging with
        ON CONFLICT DO NOTHING instead."""
        try:
            with conn.transaction(), cur.copy(_COPY_DIRECT) as copy:
                copy.write(rows)
            return seen
        except psycopg.errors.UniqueViolation:
            pass
        with cur.copy(_COPY) as copy:
            copy.write(rows)
        cur.execute(_MOVE)
        return Counter(p for (p,) in cur.fetchall())
