"""The PostgreSQL tables a features job writes, made ready before the job starts.

The defaults come from the migrations. A job pointed at other names (a test's or a benchmark's
own tables, a second pipeline) gets copies with the same columns, keys and indexes, so its upserts
behave exactly like the real table's and it never touches the real rows.
"""

from __future__ import annotations

from psycopg import sql

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.flink.config import JobConfig
from streaming.settings import Settings

TEMPLATES = {"features_table": "feature_aggregates", "dropped_table": "flink_dropped_events"}


def ensure_sink_tables(settings: Settings, config: JobConfig) -> None:
    with connect(settings) as conn:
        migrate(conn)
        for field, template in TEMPLATES.items():
            name = getattr(config, field)
            if name != template:
                conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
        conn.commit()


def drop_tables(settings: Settings, config: JobConfig) -> None:
    """Remove a job's own copies (never the migrations' tables)."""
    with connect(settings) as conn:
        for field, template in TEMPLATES.items():
            name = getattr(config, field)
            if name != template:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.commit()
