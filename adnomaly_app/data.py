"""Process-wide resources of the app: settings, a small PostgreSQL pool (schema migrated once)
shared by every browser session of this server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import streamlit as st
from psycopg_pool import ConnectionPool

from streaming.db.migrations import migrate
from streaming.settings import Settings, get_settings


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def _pool() -> ConnectionPool:
    s = settings()
    pool = ConnectionPool(
        s.db_dsn, min_size=1, max_size=4, open=True, kwargs={"connect_timeout": 5}, timeout=10
    )
    with pool.connection() as conn:
        migrate(conn)  # incident_verdicts must exist before the first verdict
    return pool


@contextmanager
def db() -> Iterator[psycopg.Connection]:
    with _pool().connection() as conn:
        yield conn
