"""The native stack: real servers as local processes under one supervisord, state in one dir."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from adnomaly_ops.stack import health, kafka_auth, provision
from adnomaly_ops.stack.render import render_all, render_postgres_conf
from adnomaly_ops.stack.services import (
    Service,
    all_services,
    dagster_service,
    infra_services,
    kafka_dir,
)
from adnomaly_ops.stack.supervisor import Supervisor
from adnomaly_ops.stack.tools import Tools, tools_for
from streaming.kafka.config import SASL_MECHANISM
from streaming.kafka.principals import PRINCIPALS
from streaming.kafka.topics import ensure_topics
from streaming.settings import Settings


@dataclass
class ServiceStatus:
    name: str
    state: str
    healthy: bool
    detail: str
    ports: dict[str, int]
    pid: int | None
    uptime_s: float | None
    last_error: str


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _init_postgres(settings: Settings, tools: Tools) -> None:
    root = settings.state_dir / "postgres"
    data, run = root / "data", root / "run"
    for path in (root, data, run):
        path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in (root, data, run):
            shutil.chown(path, "postgres", "postgres")
    data.chmod(0o700)
    run.chmod(0o770)
    if not (data / "PG_VERSION").exists():
        initdb = str(tools.postgres_bindir() / "initdb")
        argv = [initdb, "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"]
        _run(_as_postgres([*argv, "--auth-local=trust", "--auth-host=scram-sha-256"]), "initdb")
    render_postgres_conf(settings, data, run)


def _init_kafka(settings: Settings, tools: Tools) -> None:
    """Format each node's storage once, with every principal's SCRAM credential in the first
    metadata: the broker's own (admin) must exist before it can authenticate to itself at all.
    The HA profile's nodes share one cluster id (a node formatted before keeps its own)."""
    dirs = [kafka_dir(settings, node) for node, _, _ in settings.kafka_nodes]
    known = [
        d / "data" / "adnomaly-scram" for d in dirs if (d / "data" / "adnomaly-scram").exists()
    ]
    cluster_id = (
        known[0].read_text().strip()
        if known
        else base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    )
    for conf in dirs:
        _format_kafka(settings, tools, conf, cluster_id)


def _format_kafka(settings: Settings, tools: Tools, conf: Path, cluster_id: str) -> None:
    data = conf / "data"
    marker = data / "adnomaly-scram"
    if (data / "meta.properties").exists():
        if not marker.exists():
            raise RuntimeError(
                f"Kafka storage in {data} was formatted before the broker required SASL/SCRAM, so "
                "it holds no credentials; `adnomaly stack down` and delete that directory (its "
                "topics are lost) to format it anew"
            )
        return
    argv = ["java", "-cp", f"{tools.kafka_libs}/*", "kafka.tools.StorageTool", "format"]
    argv += ["-t", cluster_id, "-c", str(conf / "server.properties")]
    for principal in PRINCIPALS:
        password = settings.kafka_password(principal)
        if any(c in password for c in "[],="):
            raise ValueError(f"the {principal} Kafka password may not contain [ ] , or =")
        argv += ["--add-scram", f"{SASL_MECHANISM}=[name={principal},password={password}]"]
    _run(argv, f"kafka storage format ({data})")
    marker.write_text(cluster_id)


def _check_profile(settings: Settings) -> None:
    """A state dir belongs to one profile: the sinks keep their Kafka offsets in PostgreSQL, and
    the other profile's Kafka cluster has other offsets for the same partitions."""
    marker = settings.state_dir / "profile"
    if marker.exists():
        made = marker.read_text().strip()
        if made != settings.profile:
            raise RuntimeError(
                f"{settings.state_dir} holds a stack of the {made!r} profile, not "
                f"ADNOMALY_PROFILE={settings.profile!r}: `adnomaly stack down`, then use another "
                f"ADNOMALY_STATE_DIR for this profile (or delete that directory)"
            )
        return
    legacy = (settings.state_dir / "kafka" / "data" / "meta.properties").exists()
    if settings.ha and legacy:
        raise RuntimeError(
            f"{settings.state_dir} holds a single-node stack: use another ADNOMALY_STATE_DIR for "
            "ADNOMALY_PROFILE=ha (or delete that directory)"
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(settings.profile + "\n")


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {result.stderr or result.stdout}")


def up(settings: Settings, deadline_s: float = 240.0) -> list[ServiceStatus]:
    """Start (or complete) the stack and wait until every server is healthy; safe to repeat."""
    tools = tools_for(settings)
    tools.check()
    settings.require_pgadmin_password()
    _check_profile(settings)
    services = all_services(settings, tools)
    render_all(settings, tools, services)
    _init_kafka(settings, tools)
    _init_postgres(settings, tools)
    sup = Supervisor(settings)
    if sup.running():
        sup.update()
        for service in services:
            if service.autostart:
                sup.start(service.name)
    else:
        sup.start_daemon()
    provision.wait_postgres_admin(settings, deadline_s)
    provision.postgres(settings)
    provision.schema_and_grants(settings)
    servers = infra_services(settings, tools)
    if settings.with_dagster:
        servers.append(dagster_service(settings))
    wait_healthy(settings, servers, deadline_s)
    provision.minio_bucket(settings)
    ensure_topics(settings)
    kafka_auth.provision(settings)
    return status(settings)


def wait_healthy(settings: Settings, services: list[Service], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    pending = {s.name: s for s in services}
    details: dict[str, str] = {}
    while pending:
        for name, service in list(pending.items()):
            ok, details[name] = health.probe(service.health, settings)
            if ok:
                del pending[name]
        if not pending:
            return
        if time.monotonic() > end:
            failing = ", ".join(f"{n}: {details[n]}" for n in pending)
            logs = settings.state_dir / "logs"
            raise TimeoutError(f"not healthy after {deadline_s:.0f}s: {failing} (logs in {logs})")
        time.sleep(0.5)


def down(settings: Settings) -> None:
    Supervisor(settings).shutdown()


def _last_error(log: Path) -> str:
    if not log.exists():
        return ""
    with log.open("rb") as fh:
        fh.seek(max(0, log.stat().st_size - 65536))
        lines = fh.read().decode(errors="replace").splitlines()
    markers = ("ERROR", "FATAL", "Exception", "error:", "PANIC")
    for line in reversed(lines):
        if any(m in line for m in markers):
            return line.strip()[:160]
    return ""


def status(settings: Settings) -> list[ServiceStatus]:
    tools = tools_for(settings)
    sup = Supervisor(settings)
    procs = sup.processes()
    rows = []
    for service in all_services(settings, tools):
        info = procs.get(service.name, {})
        state = info.get("statename", "DOWN" if not procs else "UNKNOWN")
        running = state == "RUNNING"
        ok, detail = health.probe(service.health, settings) if running else (False, state.lower())
        now, start = info.get("now", 0), info.get("start", 0)
        log = settings.state_dir / "logs" / f"{service.name}.log"
        rows.append(
            ServiceStatus(
                name=service.name,
                state=state,
                healthy=ok,
                detail=detail,
                ports=service.ports,
                pid=info.get("pid") or None,
                uptime_s=float(now - start) if running else None,
                last_error=info.get("spawnerr") or _last_error(log),
            )
        )
    return rows
