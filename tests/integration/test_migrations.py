"""Migrations apply once, in order, on the real server; README's sample queries work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from streaming.db.connect import connect
from streaming.db.migrations import MigrationError, migrate
from streaming.settings import Settings

pytestmark = pytest.mark.integration

SEED_QUERIES = [
    "SELECT COUNT(*) FROM clickstream_events",
    "SELECT * FROM clickstream_events ORDER BY timestamp DESC LIMIT 10",
    "SELECT geo, COUNT(*) FROM clickstream_events GROUP BY geo ORDER BY COUNT(*) DESC",
    "SELECT platform, COUNT(*) FROM clickstream_events GROUP BY platform",
    "SELECT * FROM clickstream_events WHERE ctr > 0.03 ORDER BY ctr DESC",
]


@pytest.fixture
def schema_conn(stack: Settings, request: pytest.FixtureRequest) -> Iterator[psycopg.Connection]:
    """A connection whose search_path is a fresh schema of its own."""
    name = f"t_{request.node.name.replace('[', '_').replace(']', '')}"[:60].lower()
    schema = sql.Identifier(name)
    with connect(stack, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        conn.execute(sql.SQL("SET search_path TO {}").format(schema))
        yield conn
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def test_applies_once_and_records_versions(schema_conn: psycopg.Connection) -> None:
    first = migrate(schema_conn)
    assert first == sorted(first) and len(first) >= 3
    assert migrate(schema_conn) == []
    versions = schema_conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == sorted(int(n[:4]) for n in first)


def test_seed_queries_and_partitions(schema_conn: psycopg.Connection) -> None:
    migrate(schema_conn)
    schema_conn.execute("SELECT ensure_clickstream_partition(%s)", (date(2024, 1, 15),))
    row = (
        "e1",
        datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        "a1b2c3d4e5f67890",
        "ad_1234",
        "camp_567",
        "US",
        "web",
        "Mozilla/5.0",
        0.75,
        0.035,
        0,
        0.45,
    )
    insert = (
        "INSERT INTO clickstream_events (event_id, timestamp, user_id_hash, ad_id, campaign_id,"
        " geo, platform, user_agent, cpc, ctr, conversion, bounce_rate)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    schema_conn.execute(insert, row)
    with pytest.raises(psycopg.errors.UniqueViolation):
        schema_conn.execute(insert, row)
    for query in SEED_QUERIES:
        assert schema_conn.execute(query).fetchall(), query
    stats = schema_conn.execute("SELECT day, geo, platform, events FROM daily_stats").fetchall()
    assert stats == [(date(2024, 1, 15), "US", "web", 1)]
    dropped = schema_conn.execute(
        "SELECT drop_clickstream_partitions_before(%s)", (date(2024, 1, 16),)
    )
    assert dropped.fetchone() == (1,)
    assert schema_conn.execute("SELECT count(*) FROM clickstream_events").fetchone() == (0,)


def test_edited_migration_is_refused(schema_conn: psycopg.Connection, tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
    migrate(schema_conn, tmp_path)
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x bigint);")
    with pytest.raises(MigrationError, match="edited"):
        migrate(schema_conn, tmp_path)


def test_own_schema_is_migrated_though_public_is_current(stack: Settings) -> None:
    """With public earlier migrated (stack up does) and on the search path after a schema of
    its own (benchmarks and tests connect so), migrate() builds the own schema's tables rather
    than taking public's for current."""
    name = "t_own_schema_before_public"
    with connect(stack, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        with connect(stack, autocommit=True, schema=name) as conn:
            assert migrate(conn), "nothing applied: public passed for this schema"
            found = conn.execute("SELECT to_regclass(%s)", (f"{name}.clickstream_events",))
            assert found.fetchone() != (None,)
            assert migrate(conn) == []  # and now it is current
    finally:
        with connect(stack, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
