"""PostgreSQL sink: each batch is COPYed into a staging table and moved into the daily-partitioned
`clickstream_events` with ON CONFLICT DO NOTHING, all in one transaction, so a redelivered batch
stores nothing twice."""

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
_COPY = sql.SQL("COPY clickstream_staging ({}) FROM STDIN").format(_COLUMNS)
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS clickstream_staging"
    " (LIKE clickstream_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_MOVE = sql.SQL(
    "INSERT INTO clickstream_events ({c}) SELECT {c} FROM clickstream_staging"
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

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn: psycopg.Connection | None = None
        self.days: set[date] = set()
        self.buffer: list[Accepted] = []

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            try:
                self.conn = connect(self.settings)
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

    def flush(self, progress: dict[int, tuple[int, int]]) -> tuple[int, int]:
        try:
            stored = self._write(self._connection(), self.buffer, progress)
        except psycopg.OperationalError as exc:
            if self.conn is not None:
                self.conn.close()
            raise TransientWriteError(f"PostgreSQL: {exc}") from exc
        total = len(self.buffer)
        self.buffer = []
        return stored, total - stored

    def _write(
        self, conn: psycopg.Connection, batch: list[Accepted], progress: dict[int, tuple[int, int]]
    ) -> int:
        for day in {a.event.timestamp.date() for a in batch} - self.days:
            with conn.transaction():
                conn.execute("SELECT ensure_clickstream_partition(%s)", (day,))
            self.days.add(day)
        with conn.transaction(), conn.cursor() as cur:
            if batch:
                self._copy(cur, batch)
                cur.execute(_MOVE)
            stored = Counter(p for (p,) in cur.fetchall()) if batch else Counter()
            seen = Counter(a.partition for a in batch)
            cur.executemany(
                PROGRESS_SQL,
                [
                    (self.name, p, last, stored[p], seen[p] - stored[p], rejected)
                    for p, (last, rejected) in progress.items()
                ],
            )
        return stored.total()

    @staticmethod
    def _copy(cur: psycopg.Cursor, batch: list[Accepted]) -> None:
        with cur.copy(_COPY) as copy:
            for a in batch:
                e = a.event
                copy.write_row(
                    (
                        e.event_id, e.timestamp, e.user_id_hash, e.ad_id, e.campaign_id,
                        e.geo, e.platform, e.user_agent, e.CPC, e.CTR, e.conversion,
                        e.bounce_rate, a.partition, a.offset,
                    )
                )  # fmt: skip
