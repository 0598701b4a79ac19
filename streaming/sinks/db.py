"""PostgreSQL sink: each batch's validated JSON bytes are COPYed verbatim into a staging table and
moved into the daily-partitioned `clickstream_events` with ON CONFLICT DO NOTHING, all in one
transaction, so a redelivered batch stores nothing twice.

PostgreSQL parses the JSON itself (C, server side): Python only joins bytes, which is what lets
one sink process keep up with the broker.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import psycopg
from psycopg import sql

from streaming.db.connect import DatabaseUnavailableError, connect
from streaming.db.migrations import migrate
from streaming.settings import Settings
from streaming.sinks.records import Accepted
from streaming.sinks.runner import TransientWriteError

COLUMN_NAMES = (
    "event_id", "timestamp", "user_id_hash", "ad_id", "campaign_id", "geo", "platform",
    "user_agent", "cpc", "ctr", "conversion", "bounce_rate", "kafka_partition", "kafka_offset",
)  # fmt: skip
_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES))
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS clickstream_staging"
    " (kafka_partition integer, kafka_offset bigint, doc jsonb) ON COMMIT DELETE ROWS"
)
# CSV with \x01 as quote and \x02 as delimiter: JSON text never holds raw control characters,
# so every value passes through byte for byte, no escaping needed.
_COPY_DIRECT = sql.SQL("COPY clickstream_events ({}) FROM STDIN").format(_COLUMNS)
_COPY = (
    "COPY clickstream_staging (kafka_partition, kafka_offset, doc) FROM STDIN"
    " (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
)
_MOVE = sql.SQL(
    "INSERT INTO clickstream_events ({c}) SELECT doc->>'event_id',"
    " (doc->>'timestamp')::timestamptz, doc->>'user_id_hash', doc->>'ad_id',"
    " doc->>'campaign_id', doc->>'geo', doc->>'platform', doc->>'user_agent',"
    " (doc->>'CPC')::float8, (doc->>'CTR')::float8, (doc->>'conversion')::smallint,"
    " (doc->>'bounce_rate')::float8, kafka_partition, kafka_offset FROM clickstream_staging"
    " ON CONFLICT DO NOTHING RETURNING kafka_partition"
).format(c=_COLUMNS)
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

    def add(self, batch: list[Accepted]) -> None:
        self.buffer.extend(batch)

    def due(self) -> bool:
        return True  # one transaction per polled batch keeps produce→Postgres latency low

    def discard(self, partitions: set[int]) -> None:
        self.buffer = [a for a in self.buffer if a.partition not in partitions]

    def take(self) -> list[Accepted]:
        records, self.buffer = self.buffer, []
        return records

    def write(
        self, records: list[Accepted], progress: dict[int, tuple[int, int]]
    ) -> tuple[int, int]:
        try:
            stored = self._write(self._connection(), records, progress)
        except psycopg.OperationalError as exc:
            if self.conn is not None:
                self.conn.close()
            raise TransientWriteError(f"PostgreSQL: {exc}") from exc
        return stored, len(records) - stored

    def _write(
        self, conn: psycopg.Connection, batch: list[Accepted], progress: dict[int, tuple[int, int]]
    ) -> int:
        for day in {a.timestamp.date() for a in batch} - self.days:
            with conn.transaction():
                conn.execute("SELECT ensure_clickstream_partition(%s)", (day,))
            self.days.add(day)
        seen = Counter(a.partition for a in batch)
        with conn.transaction(), conn.cursor() as cur:
            stored = self._insert(conn, cur, batch, seen) if batch else Counter()
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
        conn: psycopg.Connection, cur: psycopg.Cursor, batch: list[Accepted], seen: Counter[int]
    ) -> Counter[int]:
        """COPY straight into the table, the fast path; a batch holding an already stored event
        (a redelivery after a crash) rolls back to the savepoint and goes through staging with
        ON CONFLICT DO NOTHING instead."""
        try:
            with conn.transaction(), cur.copy(_COPY_DIRECT) as copy:
                copy.write("".join(map(_copy_row, batch)).encode())
            return seen
        except psycopg.errors.UniqueViolation:
            pass
        with cur.copy(_COPY) as copy:
            copy.write(b"".join(b"%d\x02%d\x02%b\n" % (a.partition, a.offset, a.raw)
                                for a in batch))  # fmt: skip
        cur.execute(_MOVE)
        return Counter(p for (p,) in cur.fetchall())


def _copy_row(a: Accepted) -> str:
    """One row of COPY text format; only the user agent can hold characters COPY escapes."""
    f = a.fields
    ua = f["user_agent"]
    if "\\" in ua or "\t" in ua or "\n" in ua or "\r" in ua:
        ua = ua.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        ua = ua.replace("\r", "\\r")
    return (
        f"{f['event_id']}\t{a.timestamp.isoformat()}\t{f['user_id_hash']}\t{f['ad_id']}\t"
        f"{f['campaign_id']}\t{f['geo']}\t{f['platform']}\t{ua}\t{f['CPC']!r}\t{f['CTR']!r}\t"
        f"{f['conversion']}\t{f['bounce_rate']!r}\t{a.partition}\t{a.offset}\n"
    )
