"""Render the native stack's config files from the templates in infra/native into the state dir.

Rendering is idempotent and runs on every `stack up`, so a changed setting (a port, a password)
takes effect on the next start.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from string import Template

from adnomaly_ops.stack.services import (
    SCALED,
    Service,
    kafka_dir,
    kafka_name,
    minio_drive_dirs,
    service_env,
)
from adnomaly_ops.stack.tools import Tools
from streaming.settings import PROJECT_ROOT, Settings, child_env

TEMPLATES = PROJECT_ROOT / "infra" / "native"


def _render(template: str, target: Path, mode: int = 0o644, **values: object) -> None:
    text = Template((TEMPLATES / template).read_text()).substitute(
        {k: str(v) for k, v in values.items()}
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def render_all(settings: Settings, tools: Tools, services: list[Service]) -> Path:
    """Write every service config and supervisord.conf; returns the supervisord.conf path."""
    state = settings.state_dir
    for sub in ("logs", "supervisor", "redis", "flink/run", "flink/log"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    for drive in minio_drive_dirs(settings):
        drive.mkdir(parents=True, exist_ok=True)
    _render_kafka(settings)
    shutil.copyfile(TEMPLATES / "kafka-log4j2.yaml", state / "kafka" / "log4j2.yaml")
    _render(
        "redis.conf",
        state / "redis" / "redis.conf",
        mode=0o600,
        port=settings.redis_port,
        data_dir=state / "redis",
        password=settings.redis_password.get_secret_value(),
    )
    _render_flink(settings, tools)
    _render_monitoring(settings)
    _render_pgadmin(settings)
    _render("dagster.yaml", state / "dagster" / "dagster.yaml", state_dir=state)
    dotenv = state / "dagster" / ".env"
    env = service_env(settings, "dagster")
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    dotenv.chmod(0o600)
    return _render_supervisor(settings, services)


def _render_kafka(settings: Settings) -> None:
    """One server.properties per node; in the HA profile every node votes in a quorum of three
    and every internal topic has 3 replicas, 2 in sync for a write."""
    nodes = settings.kafka_nodes
    voters = ",".join(f"{node}@127.0.0.1:{controller}" for node, _, controller in nodes)
    admin = _jaas_safe(settings.kafka_password("admin"), "KAFKA_ADMIN_PASSWORD")
    for node, port, controller in nodes:
        conf = kafka_dir(settings, node)
        (conf / "data").mkdir(parents=True, exist_ok=True)
        _render(
            "kafka-server.properties",
            conf / "server.properties",
            mode=0o600,
            node_id=node,
            voters=voters,
            kafka_port=port,
            controller_port=controller,
            data_dir=conf / "data",
            admin_password=admin,
            replication_factor=settings.replication_factor,
            min_isr=settings.min_insync_replicas,
            # HA: a node that stops heartbeating is fenced after 2 s (Kafka's default 9 s), and
            # the HW of every partition it follows waits for that; a lone broker keeps 9 s, as
            # fencing it would only stop everything on a busy machine
            session_timeout_ms=2000 if settings.ha else 9000,
            heartbeat_ms=250 if settings.ha else 2000,
        )


def _render_flink(settings: Settings, tools: Tools) -> None:
    conf = settings.state_dir / "flink" / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    rpc = settings.flink_rpc_port
    _render(
        "flink-config.yaml",
        conf / "config.yaml",
        rpc_port=rpc,
        blob_port=rpc + 1,
        tm_rpc_port=rpc + 2,
        tm_data_port=rpc + 3,
        rest_port=settings.flink_rest_port,
        state_dir=settings.state_dir / "flink",
        python=sys.executable,
        java_opts=_wheel_java_opts(tools),
    )
    for name in ("log4j-console.properties", "log4j-cli.properties", "logback-console.xml"):
        shutil.copyfile(tools.pyflink_home / "conf" / name, conf / name)
    (conf / "workers").write_text("127.0.0.1\n")
    (conf / "masters").write_text(f"127.0.0.1:{settings.flink_rest_port}\n")


def _jaas_safe(value: str, name: str) -> str:
    """A JAAS option is a double-quoted string: refuse what would end it rather than escape."""
    if any(c in value for c in '"\\;\n'):
        raise ValueError(f"{name} may not contain a double quote, backslash, semicolon or newline")
    return value


def _instance_ports(settings: Settings, name: str) -> list[int]:
    """The metrics port of each instance of `name` the profile runs (HA: `db-sink-2`'s too)."""
    ports, count = settings.metrics_ports, settings.instances if name in SCALED else 1
    return [ports[name], *(ports[f"{name}-{i}"] for i in range(2, count + 1))]


def _targets(ports: list[int]) -> str:
    return ", ".join(f'"127.0.0.1:{port}"' for port in ports)


# the project's services Prometheus scrapes every 5 s (tier=app; the servers are tier=server)
APP_JOBS = ("generator", "db-sink", "lake-sink", "feast-ingestor", "detector")


def _render_monitoring(settings: Settings) -> None:
    """Prometheus (scrape targets, alert rules with Settings' thresholds), Alertmanager and the
    Kafka JMX exporter's rules, into <state>/monitoring."""
    root = settings.state_dir / "monitoring"
    ports = settings.metrics_ports
    jobs = "".join(
        f"  - job_name: {name}\n    scrape_interval: 5s\n    honor_labels: true\n"
        f"    static_configs:\n      - targets: [{_targets(_instance_ports(settings, name))}]\n"
        "        labels: {tier: app}\n"
        for name in APP_JOBS
    )
    _render(
        "prometheus.yml",
        root / "prometheus.yml",
        stack_id=settings.state_dir.name.strip(".") or "stack",
        prometheus_port=settings.prometheus_port,
        alertmanager_port=settings.alertmanager_port,
        rules_file=root / "alert-rules.yml",
        project_jobs=jobs.rstrip("\n"),
        kafka_targets=_targets([ports[kafka_name(node)] for node, _, _ in settings.kafka_nodes]),
        postgres_port=ports["postgres-exporter"],
        redis_port=ports["redis-exporter"],
        minio_port=settings.minio_port,
        flink_targets=_targets([ports["flink-exporter"]]),
    )
    _render(
        "alert-rules.yml",
        root / "alert-rules.yml",
        flink_job=settings.flink_job_name,
        flink_group=settings.flink_group,
        topic=settings.topic,
        max_dlq_growth=settings.max_dlq_growth,
        max_age_s=int(settings.max_seconds_since_event),
    )
    _render(
        "alertmanager.yml", root / "alertmanager.yml", alertmanager_port=settings.alertmanager_port
    )
    shutil.copyfile(TEMPLATES / "kafka-jmx-exporter.yaml", root / "kafka-jmx-exporter.yaml")
    for sub in ("prometheus", "alertmanager"):
        (root / sub).mkdir(parents=True, exist_ok=True)


def pgadmin_storage(settings: Settings) -> Path:
    """The login user's storage directory, where pgAdmin looks for the server's passfile."""
    user = settings.pgadmin_email.replace("@", "_").replace("/", "slash")
    return settings.state_dir / "pgadmin" / "data" / "storage" / user


def _render_pgadmin(settings: Settings) -> None:
    root = settings.state_dir / "pgadmin"
    _render(
        "pgadmin-config.py.tmpl",
        root / "config_distro.py",
        data_dir=root / "data",
        port=settings.pgadmin_port,
    )
    server = {
        "Name": f"adnomaly ({settings.db_host}:{settings.db_port})",
        "Group": "Adnomaly",
        "Host": settings.db_host,
        "Port": settings.db_port,
        "MaintenanceDB": settings.db_name,
        "Username": settings.db_user,
        "SSLMode": "disable",
        "PassFile": "/pgpass",
    }
    servers = root / "servers.json"
    servers.write_text(json.dumps({"Servers": {"1": server}}, indent=2))
    storage = pgadmin_storage(settings)
    storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    pgpass = storage / "pgpass"
    secret = settings.db_password.get_secret_value().replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"*:{settings.db_port}:*:{settings.db_user}:{secret}\n")
    pgpass.chmod(0o600)


def _wheel_java_opts(tools: Tools) -> str:
    """The `env.java.opts.all` module flags the apache-flink wheel's own config.yaml carries."""
    conf = (tools.pyflink_home / "conf" / "config.yaml").read_text()
    found = re.search(r"^\s+all:\s*(--add-.*)$", conf, re.MULTILINE)
    return found.group(1).strip() if found else ""


def render_postgres_conf(settings: Settings, data_dir: Path, socket_dir: Path) -> None:
    _render(
        "postgresql.conf",
        data_dir / "adnomaly.conf",
        port=settings.db_port,
        socket_dir=socket_dir,
    )
    shutil.copyfile(TEMPLATES / "pg_hba.conf", data_dir / "pg_hba.conf")
    main_conf = data_dir / "postgresql.conf"
    include = "include_if_exists = 'adnomaly.conf'\n"
    if include not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write(include)
    for path in (data_dir / "adnomaly.conf", data_dir / "pg_hba.conf"):
        shutil.chown(path, "postgres", "postgres")


def _program(service: Service, settings: Settings, priority: int) -> str:
    env = {"PATH": child_env(settings).get("PATH", "/usr/bin:/bin"), **service.env}
    env_line = ",".join(f'{k}="{_escape(v)}"' for k, v in env.items())
    log = settings.state_dir / "logs" / f"{service.name}.log"
    lines = [
        f"[program:{service.name}]",
        "command=" + " ".join(_quote(part) for part in service.command),
        f"environment={env_line}",
        f"autostart={'true' if service.autostart else 'false'}",
        f"priority={priority}",
        "autorestart=true",
        "startsecs=3",
        "startretries=20",
        f"stopsignal={service.stop_signal}",
        f"stopwaitsecs={service.stop_wait_s}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=3",
    ]
    if service.user:
        lines.append(f"user={service.user}")
    if service.cwd:
        lines.append(f"directory={service.cwd}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """supervisord interpolates `%(name)s` in values and ends a quoted value at `"`."""
    if '"' in value:
        raise ValueError("a setting for a supervised service may not contain a double quote")
    return value.replace("%", "%%")


def _quote(part: str) -> str:
    # supervisord parses `command` with shlex; `%` must be doubled for its string interpolation
    escaped = part.replace("%", "%%")
    return f'"{escaped}"' if any(c in escaped for c in " '\"") else escaped


def _render_supervisor(settings: Settings, services: list[Service]) -> Path:
    target = settings.state_dir / "supervisor" / "supervisord.conf"
    _render(
        "supervisord.conf",
        target,
        mode=0o600,
        state_dir=settings.state_dir,
        project_root=PROJECT_ROOT,
        stack_id=settings.state_dir.name.strip(".") or "stack",
    )
    with target.open("a") as fh:
        for index, service in enumerate(services, start=1):
            fh.write("\n" + _program(service, settings, priority=index * 10))
    return target
