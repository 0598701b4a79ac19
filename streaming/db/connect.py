"""Connections to the app database, with a clear error when the server is down."""

from __future__ import annotations

import psycopg

from streaming.settings import Settings


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL could not be reached or refused the app role."""


def connect(
    settings: Settings, autocommit: bool = False, schema: str | None = None
) -> psycopg.Connection:
    """`schema` puts that schema first on the search_path (benchmarks and tests use their own)."""
    options = f"-c search_path={schema},public" if schema else ""
    try:
        return psycopg.connect(
            settings.db_dsn, autocommit=autocommit, connect_timeout=5, options=options
        )
    except psycopg.OperationalError as exc:
        where = f"{settings.db_host}:{settings.db_port}/{settings.db_name}"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(f"PostgreSQL at {where} unavailable: {first}") from exc
