"""Security basics on the suite's running stack: the app's PostgreSQL role cannot touch what it
does not own, and Redis and MinIO refuse clients without the right credentials."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import psycopg
import pytest
import redis
from botocore.exceptions import ClientError
from psycopg import sql
from pydantic import SecretStr

from adnomaly_ops.stack.provision import _admin_connect
from streaming.db.connect import connect
from streaming.s3 import s3_client
from streaming.settings import Settings

pytestmark = pytest.mark.integration


def test_app_role_is_not_a_superuser(stack: Settings) -> None:
    with connect(stack) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, False, False)


@pytest.mark.parametrize("schema", ["pg_catalog", "information_schema", "admin_owned"])
def test_app_role_cannot_drop_other_schemas(stack: Settings, schema: str) -> None:
    name = f"admin_owned_{uuid.uuid4().hex[:6]}" if schema == "admin_owned" else schema
    if schema == "admin_owned":
        with _admin_connect(stack, stack.db_name) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        with connect(stack) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    finally:
        if schema == "admin_owned":
            with _admin_connect(stack, stack.db_name) as admin:
                admin.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(name)))


def test_app_role_cannot_create_roles(stack: Settings) -> None:
    with connect(stack) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE ROLE intruder SUPERUSER")


def test_postgres_refuses_a_wrong_password(stack: Settings) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=stack.db_host,
            port=stack.db_port,
            dbname=stack.db_name,
            user=stack.db_user,
            password="not-" + uuid.uuid4().hex,
            connect_timeout=5,
        )


def test_redis_requires_its_password(stack: Settings) -> None:
    anonymous = redis.Redis(host=stack.redis_host, port=stack.redis_port, socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    impostor = "not-" + uuid.uuid4().hex
    wrong = redis.Redis(
        host=stack.redis_host, port=stack.redis_port, password=impostor, socket_timeout=5
    )
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()
    right = redis.Redis(
        host=stack.redis_host,
        port=stack.redis_port,
        socket_timeout=5,
        password=stack.redis_password.get_secret_value(),
    )
    assert right.ping()


def test_minio_refuses_anonymous_and_wrong_credentials(stack: Settings) -> None:
    client = s3_client(stack)
    try:
        client.head_bucket(Bucket=stack.minio_bucket)
    except ClientError:
        client.create_bucket(Bucket=stack.minio_bucket)
    client.put_object(Bucket=stack.minio_bucket, Key="security-probe.txt", Body=b"x")
    for path in ("", stack.minio_bucket, f"{stack.minio_bucket}/security-probe.txt"):
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{stack.minio_url}/{path}", timeout=5)  # noqa: S310
        assert denied.value.code == 403, path
    impostor = SecretStr("not-" + uuid.uuid4().hex)
    wrong = s3_client(stack.model_copy(update={"minio_secret_key": impostor}))
    with pytest.raises(ClientError) as refused:
        wrong.list_buckets()
    assert refused.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}
