"""Ordered plain-SQL migrations from infra/migrations, each applied once and recorded.

Sinks run `migrate()` at start and Dagster's `postgres_schema` asset runs it too; an advisory
lock makes concurrent starts safe, and a checksum catches an applied file edited afterwards.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from streaming.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "infra" / "migrations"
LOCK_KEY = 0x41444E4F  # "ADNO": one advisory lock for schema changes
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """An applied migration changed on disk, or a file name breaks the NNNN_name.sql rule."""


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return found


def _current(conn: psycopg.Connection, migrations: list[Migration]) -> bool:
    """Every migration applied and unchanged: read-only, so a service role without DDL rights
    (streaming/db/roles.py) passes once the owner has migrated."""
    with conn.transaction():
        # the first schema of the search path, where the migrations create everything (a
        # benchmark's or test's own schema must not pass for current because public is)
        (schema,) = conn.execute("SELECT current_schema()").fetchone() or (None,)
        if schema is None:
            return False
        table = sql.Identifier(schema, "schema_migrations")
        found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".schema_migrations',))
        if found.fetchone() == (None,):
            return False
        rows = conn.execute(sql.SQL("SELECT version, checksum FROM {}").format(table)).fetchall()
    done: dict[int, str] = dict(rows)
    return all(done.get(m.version) == m.checksum for m in migrations)


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations, one transaction each; returns the names applied. A role that
    may not change the schema gets a MigrationError saying who can, instead of a SQL error."""
    if _current(conn, discover(directory)):
        return []
    try:
        return _apply(conn, directory)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MigrationError(
            f"the schema needs migrations that role {conn.info.user!r} may not apply; the schema "
            "owner applies them (`adnomaly stack up`, or Dagster's postgres_schema asset)"
        ) from exc


def _apply(conn: psycopg.Connection, directory: Path) -> list[str]:
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
        done = {version: (name, checksum) for version, name, checksum in rows}
        for migration in discover(directory):
            if migration.version in done:
                name, checksum = done[migration.version]
                if checksum != migration.checksum:
                    raise MigrationError(f"{name} was edited after it was applied")
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.path.name, migration.checksum),
                )
            applied_now.append(migration.path.name)
    return applied_now
