"""Health probes for the stack's services: each answers (healthy, detail) within a short timeout."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import cast

import psycopg
import redis

from streaming.kafka.config import base_config
from streaming.settings import Settings

Probe = Callable[[Settings], tuple[bool, str]]
TIMEOUT_S = 2.0


def _tcp(port: int) -> tuple[bool, str]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S):
            return True, f"accepting on 127.0.0.1:{port}"
    except OSError as exc:
        return False, f"127.0.0.1:{port}: {exc.strerror or exc}"


def _http_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 (loopback URL)
        return json.loads(resp.read() or b"null")


def kafka_node(node: int) -> Probe:
    """Kafka node `node` answers a metadata request on its own port (bootstrapping from it
    alone, so another node cannot answer for it)."""

    def probe(settings: Settings) -> tuple[bool, str]:
        from confluent_kafka.admin import AdminClient

        port = next(p for n, p, _ in settings.kafka_nodes if n == node)
        ok, detail = _tcp(port)
        if not ok:
            return ok, detail
        config = base_config(settings, "adnomaly-health")
        admin = AdminClient({**config, "bootstrap.servers": f"127.0.0.1:{port}"})
        try:
            meta = admin.list_topics(timeout=TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 (a probe reports, it never raises)
            return False, f"metadata request failed: {exc}"
        return True, f"{len(meta.brokers)} broker(s), {len(meta.topics)} topic(s)"

    return probe


kafka = kafka_node(1)


def postgres(settings: Settings) -> tuple[bool, str]:
    try:
        with psycopg.connect(settings.db_dsn, connect_timeout=int(TIMEOUT_S)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return False, str(exc).strip().splitlines()[0]
    return True, f"PostgreSQL {version[0] if version else '?'}"


def redis_probe(settings: Settings) -> tuple[bool, str]:
    client = redis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password.get_secret_value(),
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
    )
    try:
        client.ping()
        config = cast(dict[str, str], client.config_get("appendonly"))
    except redis.RedisError as exc:
        return False, str(exc)
    finally:
        client.close()
    return True, f"PONG, appendonly={config.get('appendonly')}"


def minio(settings: Settings) -> tuple[bool, str]:
    """Live; in the HA profile, the erasure set has its write quorum (a server still waiting
    for its drives is live but refuses every request)."""
    check = "cluster" if settings.ha else "live"
    try:
        with urllib.request.urlopen(  # noqa: S310 (loopback URL)
            f"{settings.minio_url}/minio/health/{check}", timeout=TIMEOUT_S
        ) as resp:
            return resp.status == 200, f"{check} (HTTP {resp.status})"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(exc)


def flink_jobmanager(settings: Settings) -> tuple[bool, str]:
    try:
        overview = _http_json(f"{settings.flink_rest_url}/overview")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, str(exc)
    assert isinstance(overview, dict)
    return (
        True,
        f"Flink {overview.get('flink-version')}, jobs running {overview.get('jobs-running')}",
    )


def flink_taskmanagers(count: int) -> Probe:
    """At least `count` TaskManagers registered with the JobManager (the HA profile's second
    is healthy once two are)."""

    def probe(settings: Settings) -> tuple[bool, str]:
        try:
            overview = _http_json(f"{settings.flink_rest_url}/overview")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return False, f"JobManager unreachable: {exc}"
        assert isinstance(overview, dict)
        tms, slots = overview.get("taskmanagers", 0), overview.get("slots-total", 0)
        return tms >= count, f"{tms} TaskManager(s) registered, {slots} slot(s)"

    return probe


flink_taskmanager = flink_taskmanagers(1)


_LOCATIONS = json.dumps(
    {
        "query": "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus"
        " locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    }
).encode()


def dagster(settings: Settings) -> tuple[bool, str]:
    """Healthy once the webserver answers and every code location is loaded without error:
    before that the UI serves pages without the project's assets."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{settings.dagster_port}/graphql",
        data=_LOCATIONS,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:  # noqa: S310
            body = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, str(exc)
    entries = body["data"]["workspaceOrError"].get("locationEntries", [])
    for entry in entries:
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            return False, f"code location {entry['name']}: {loaded.get('message', '')[:200]}"
        if entry["loadStatus"] != "LOADED":
            return False, f"code location {entry['name']} {entry['loadStatus'].lower()}"
    return bool(entries), f"{len(entries)} code location(s) loaded"


def pgadmin(settings: Settings) -> tuple[bool, str]:
    """Healthy once the web server answers its ping: setup (login, server list) is done then."""
    url = f"http://127.0.0.1:{settings.pgadmin_port}/misc/ping"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            body = resp.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return False, str(exc)
    return body.strip() == "PING", "answers /misc/ping" if body.strip() == "PING" else body[:80]


def ui(settings: Settings) -> tuple[bool, str]:
    """The incidents app (Streamlit) answers its health endpoint once its server is up."""
    url = f"http://127.0.0.1:{settings.ui_port}/_stcore/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            body = resp.read().decode(errors="replace").strip()
    except (urllib.error.URLError, OSError) as exc:
        return False, str(exc)
    return body == "ok", "answers /_stcore/health" if body == "ok" else body[:80]


def _ready(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 (loopback)
            return resp.status == 200, f"ready ({url})"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"


def prometheus(settings: Settings) -> tuple[bool, str]:
    return _ready(f"{settings.prometheus_url}/-/ready")


def alertmanager(settings: Settings) -> tuple[bool, str]:
    return _ready(f"http://127.0.0.1:{settings.alertmanager_port}/-/ready")


def _exporter(name: str, up_metric: str) -> Probe:
    """An exporter is healthy when its /metrics says it reached its server (`up_metric` 1)."""

    def probe(settings: Settings) -> tuple[bool, str]:
        url = f"http://127.0.0.1:{settings.metrics_ports[name]}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
                text = resp.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return False, f"{url}: {exc}"
        up = any(line.startswith(up_metric + " 1") for line in text.splitlines())
        return up, f"{url}: {up_metric} {'1' if up else '0 (its server is unreachable)'}"

    return probe


def flink_exporter(settings: Settings) -> tuple[bool, str]:
    """Healthy when a scrape succeeds: it fails (HTTP 500) while Flink's REST API is down."""
    url = f"http://127.0.0.1:{settings.metrics_ports['flink-exporter']}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            resp.read()
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"
    return True, f"{url}: Flink REST answers"


PROBES: dict[str, Probe] = {
    "prometheus": prometheus,
    "alertmanager": alertmanager,
    "postgres-exporter": _exporter("postgres-exporter", "pg_up"),
    "redis-exporter": _exporter("redis-exporter", "redis_up"),
    "flink-exporter": flink_exporter,
    "kafka": kafka,
    "kafka-2": kafka_node(2),
    "kafka-3": kafka_node(3),
    "postgres": postgres,
    "redis": redis_probe,
    "minio": minio,
    "flink-jobmanager": flink_jobmanager,
    "flink-taskmanager": flink_taskmanager,
    "flink-taskmanager-2": flink_taskmanagers(2),
    "dagster": dagster,
    "ui": ui,
    "pgadmin": pgadmin,
}


def probe(kind: str, settings: Settings) -> tuple[bool, str]:
    """Run the probe for a service kind; `process` services are judged by supervisor alone."""
    if kind == "process":
        return True, "supervised process"
    return PROBES[kind](settings)
