"""Least privilege beyond Kafka: each service's PostgreSQL role can do its job and nothing else,
and Flink's REST API takes no uploaded jars."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg
import pytest

from adnomaly_ops.stack.services import DB_ROLE_OF, all_services
from adnomaly_ops.stack.tools import tools_for
from streaming.db.roles import role_name
from streaming.settings import Settings

pytestmark = pytest.mark.integration


@contextmanager
def _as_role(settings: Settings, role: str) -> Iterator[psycopg.Connection]:
    user, password = settings.db_login(role, override=False)
    dsn = (
        f"host={settings.db_host} port={settings.db_port} dbname={settings.db_name} "
        f"user={user} password={password}"
    )
    with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
        yield conn


def _refused(settings: Settings, role: str, statement: str) -> None:
    with _as_role(settings, role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement.encode())


# one thing outside each role's grants; every role reads schema_migrations and nothing else
# unless granted
OUTSIDE = {
    "generator": "SELECT count(*) FROM clickstream_events",
    "db_sink": "DELETE FROM clickstream_events WHERE false",
    "lake_sink": "SELECT count(*) FROM clickstream_events",
    "flink": "INSERT INTO anomaly_results (geo) VALUES ('US')",
    "detector": "SELECT count(*) FROM clickstream_events",
    "ui": "DELETE FROM incident_verdicts WHERE false",
    "reader": "INSERT INTO fraud_labels (incident_id) VALUES ('x')",
}


@pytest.mark.parametrize("role", sorted(OUTSIDE))
def test_each_role_is_refused_outside_its_grants(stack: Settings, role: str) -> None:
    _refused(stack, role, OUTSIDE[role])
    _refused(stack, role, "CREATE TABLE adnomaly_intruder (x int)")
    _refused(stack, role, "DROP TABLE sink_progress")


def test_roles_can_do_their_job(stack: Settings) -> None:
    with _as_role(stack, "db_sink") as conn:
        conn.execute("SELECT ensure_clickstream_partition(%s)", (date(2031, 1, 2),))
        conn.execute("SELECT count(*) FROM sink_progress")
    with _as_role(stack, "detector") as conn:
        conn.execute("SELECT count(*) FROM anomaly_results")
        conn.execute("SELECT count(*) FROM feature_aggregates")
    with _as_role(stack, "ui") as conn:
        conn.execute("SELECT count(*) FROM incident_verdicts")
        conn.execute("SELECT count(*) FROM clickstream_events")
    with _as_role(stack, "reader") as conn:
        conn.execute("SELECT count(*) FROM warehouse_daily_stats")


def test_only_the_db_sink_creates_partitions(stack: Settings) -> None:
    _refused(stack, "reader", "SELECT ensure_clickstream_partition('2031-01-03')")


def test_supervised_services_get_only_their_own_credentials(stack: Settings) -> None:
    for service in all_services(stack, tools_for(stack)):
        if service.name not in DB_ROLE_OF:
            continue
        env = service.env
        role = DB_ROLE_OF[service.name]
        expected_user = stack.db_user if role == "owner" else role_name(role)
        assert env["DB_USER"] == expected_user, service.name
        passwords = [k for k in env if k.endswith("_PASSWORD") and k.startswith(("KAFKA_", "PG_"))]
        assert len(passwords) == 1, (service.name, passwords)  # its Kafka principal's only
        assert "KAFKA_PRINCIPAL" not in env
        assert "DB_ROLE" not in env


def _jar() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n")
    return buffer.getvalue()


def test_flink_refuses_jar_uploads(stack: Settings) -> None:
    """A well-formed upload of a real (empty) jar: with web submission on it would be stored
    and listed; off, the endpoints do not exist."""
    boundary = "adnomaly-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="jarfile"; '
            'filename="intruder.jar"\r\nContent-Type: application/x-java-archive\r\n\r\n'
        ).encode()
        + _jar()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # noqa: S310 (the stack's loopback URL)
        f"{stack.flink_rest_url}/jars/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (the stack's loopback URL)
    # with submission on, this very request answers 200 {"status": "success"}
    assert refused.value.code in (400, 404), refused.value.read()[:300]
    with pytest.raises(urllib.error.HTTPError) as listing:
        urllib.request.urlopen(f"{stack.flink_rest_url}/jars", timeout=10)  # noqa: S310
    assert listing.value.code == 404
