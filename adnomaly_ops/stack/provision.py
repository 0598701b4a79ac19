"""One-time, idempotent provisioning of a running stack: roles, databases, bucket."""

from __future__ import annotations

import time

import psycopg
from botocore.exceptions import ClientError
from psycopg import sql

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.db.roles import ROLES, grant_statements, role_name
from streaming.s3 import s3_client
from streaming.settings import Settings


def _admin_connect(settings: Settings, dbname: str = "postgres") -> psycopg.Connection:
    """The postgres superuser over the state dir's unix socket (trust, socket dir is 0770)."""
    socket_dir = settings.state_dir / "postgres" / "run"
    return psycopg.connect(
        host=str(socket_dir), port=settings.db_port, user="postgres", dbname=dbname, autocommit=True
    )


def wait_postgres_admin(settings: Settings, deadline_s: float) -> None:
    """Wait until the server accepts the superuser on its socket (before the app role exists)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with _admin_connect(settings) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > end:
                raise TimeoutError(f"PostgreSQL not accepting connections: {exc}") from exc
            time.sleep(0.3)


def postgres(settings: Settings) -> None:
    """App role (not a superuser), app database it owns, and Dagster's database."""
    role = sql.Identifier(settings.db_user)
    with _admin_connect(settings) as conn:
        _login_role(conn, settings.db_user, settings.db_password.get_secret_value())
        for service_role in ROLES:
            _login_role(conn, *settings.db_login(service_role, override=False))
        # the PostgreSQL exporter logs in as the reader: server statistics, no data rights
        conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(role_name("reader"))))
        for db in (settings.db_name, settings.dagster_db_name):
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
            if not found:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), role)
                )
    for db in (settings.db_name, settings.dagster_db_name):
        with _admin_connect(settings, db) as conn:
            conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))


def _login_role(conn: psycopg.Connection, name: str, password: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    conn.execute(
        sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD {}"
        ).format(
            sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(name), sql.Literal(password)
        )
    )


def schema_and_grants(settings: Settings) -> list[str]:
    """As the schema owner: apply pending migrations, then make each service role's grants
    exactly streaming/db/roles.py's (a table a new migration adds is covered at once)."""
    owner = settings.model_copy(update={"db_role": "owner"})
    with connect(owner) as conn:
        applied = migrate(conn)
        with conn.transaction():
            for statement in grant_statements():
                conn.execute(statement)
    return applied


def minio_bucket(settings: Settings) -> None:
    client = s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.minio_bucket)
    except ClientError:
        client.create_bucket(Bucket=settings.minio_bucket)
