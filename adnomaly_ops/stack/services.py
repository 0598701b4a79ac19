"""The services of the native stack: how each is launched, where it listens, how it is probed.

This list is the single source of truth that the compose file is kept equal to
(tests/unit/test_compose_parity.py): same service names, same ports, same env var names.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from adnomaly_ops.stack.tools import Tools
from streaming.db.roles import role_name
from streaming.settings import PROJECT_ROOT, Settings, settings_env


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    ports: dict[str, int]
    health: str  # probe kind, see adnomaly_ops.stack.health
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: str = "TERM"
    stop_wait_s: int = 30
    autostart: bool = True
    # env var names this service is configured by; the compose file must use the same names
    env_names: tuple[str, ...] = ()
    cwd: Path | None = None

    @property
    def primary_port(self) -> int | None:
        return next(iter(self.ports.values()), None)


def infra_services(settings: Settings, tools: Tools) -> list[Service]:
    """The servers of the stack (README, "Web interfaces and logins"), in start order."""
    state = settings.state_dir
    flink_env = {
        "FLINK_CONF_DIR": str(state / "flink" / "conf"),
        "FLINK_LIB_DIR": str(tools.flink_lib),
        "FLINK_LOG_DIR": str(state / "flink" / "log"),
        "FLINK_PID_DIR": str(state / "flink" / "run"),
        "FLINK_HOME": str(tools.pyflink_home),
    }
    flink_bin = tools.pyflink_home / "bin"
    return [
        *kafka_services(settings, tools),
        Service(
            name="postgres",
            command=[
                str(tools.postgres_bindir() / "postgres"),
                "-D",
                str(state / "postgres" / "data"),
            ],
            ports={"postgres": settings.db_port},
            health="postgres",
            user="postgres",
            stop_signal="INT",
            env_names=("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"),
        ),
        Service(
            name="pgadmin",
            command=[str(PROJECT_ROOT / "infra" / "native" / "pgadmin-start.sh")],
            ports={"ui": settings.pgadmin_port},
            env={
                "PGADMIN_PYTHON": str(tools.pgadmin_python),
                "CONFIG_DISTRO_FILE_PATH": str(state / "pgadmin" / "config_distro.py"),
                "PGADMIN_DATA_DIR": str(state / "pgadmin" / "data"),
                "PGADMIN_SERVERS_JSON": str(state / "pgadmin" / "servers.json"),
                "PGADMIN_SETUP_EMAIL": settings.pgadmin_email,
            }
            | (  # `stack up` refuses to start without it (native.up)
                {"PGADMIN_SETUP_PASSWORD": settings.pgadmin_password.get_secret_value()}
                if settings.pgadmin_password
                else {}
            ),
            health="pgadmin",
            # the compose image reads them as PGADMIN_DEFAULT_EMAIL/PASSWORD from the same vars
        ),
        Service(
            name="redis",
            command=[str(tools.redis_server()), str(state / "redis" / "redis.conf")],
            ports={"redis": settings.redis_port},
            health="redis",
            env_names=("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"),
        ),
        Service(
            name="minio",
            command=[
                str(tools.minio),
                "server",
                *minio_drives(settings),
                "--address",
                f"127.0.0.1:{settings.minio_port}",
                "--console-address",
                f"127.0.0.1:{settings.minio_console_port}",
            ],
            ports={"s3": settings.minio_port, "console": settings.minio_console_port},
            env={
                "MINIO_ROOT_USER": settings.minio_access_key,
                "MINIO_ROOT_PASSWORD": settings.minio_secret_key.get_secret_value(),
                "MINIO_UPDATE": "off",
                "MINIO_BROWSER_REDIRECT": "off",
                "MINIO_PROMETHEUS_AUTH_TYPE": "public",  # /minio/v2/metrics/* without a token
            }
            # the HA profile's 4 drives are directories on one disk: MinIO refuses drives on
            # the root disk unless told this is a test setup
            | ({"MINIO_CI_CD": "on"} if settings.ha else {}),
            health="minio",
            env_names=("MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_BUCKET"),
        ),
        Service(
            name="flink-jobmanager",
            command=[str(flink_bin / "jobmanager.sh"), "start-foreground"],
            ports={"rest": settings.flink_rest_port, "rpc": settings.flink_rpc_port},
            env=flink_env,
            health="flink-jobmanager",
            env_names=("FLINK_REST_URL",),
        ),
        *(
            Service(
                name=name,
                command=[str(flink_bin / "taskmanager.sh"), "start-foreground", *dynamic],
                ports={},
                env=flink_env,
                health=name,
                env_names=("FLINK_REST_URL",),
            )
            for name, dynamic in taskmanagers(settings)
        ),
        *monitoring_services(settings),
    ]


def kafka_dir(settings: Settings, node: int) -> Path:
    """Where Kafka node `node` keeps its config and data: <state>/kafka for the single node,
    <state>/kafka/node-N in the HA profile (its storage is formatted for a quorum of three)."""
    root = settings.state_dir / "kafka"
    return root / f"node-{node}" if settings.ha else root


def kafka_name(node: int) -> str:
    """Node 1 is `kafka` in both profiles, so tooling that restarts `kafka` works on either."""
    return "kafka" if node == 1 else f"kafka-{node}"


def kafka_services(settings: Settings, tools: Tools) -> list[Service]:
    """One combined broker+controller per node; the HA profile's three run at a small heap
    (3 JVMs beside Flink's on a 24 GiB machine)."""
    heap = ["-Xms256m", "-Xmx512m"] if settings.ha else ["-Xms256m", "-Xmx1g"]
    jmx_config = settings.state_dir / "monitoring" / "kafka-jmx-exporter.yaml"
    services = []
    for node, port, controller in settings.kafka_nodes:
        name, conf = kafka_name(node), kafka_dir(settings, node)
        metrics = settings.metrics_ports[name]
        services.append(
            Service(
                name=name,
                command=[
                    "java",
                    *heap,
                    "-XX:+UseG1GC",
                    f"-Dlog4j2.configurationFile={settings.state_dir / 'kafka' / 'log4j2.yaml'}",
                    f"-javaagent:{tools.jmx_agent}=127.0.0.1:{metrics}:{jmx_config}",
                    "-cp",
                    f"{tools.kafka_libs}/*",
                    "kafka.Kafka",
                    str(conf / "server.properties"),
                ],
                ports={"kafka": port, "controller": controller},
                health=name,
                env_names=("KAFKA_BOOTSTRAP", "TOPIC"),
            )
        )
    return services


def minio_drives(settings: Settings) -> list[str]:
    """One data dir, or in the HA profile an erasure-coded set over 4 drives (MinIO expands
    `{1...4}` itself), which keeps serving reads and writes with one drive lost."""
    root = settings.state_dir / "minio"
    return [str(root / "drive{1...4}")] if settings.ha else [str(root / "data")]


def minio_drive_dirs(settings: Settings) -> list[Path]:
    root = settings.state_dir / "minio"
    return [root / f"drive{i}" for i in range(1, 5)] if settings.ha else [root / "data"]


def taskmanagers(settings: Settings) -> list[tuple[str, list[str]]]:
    """(service name, dynamic properties) of each TaskManager: the second one takes its own RPC
    and data ports (the first's + 2, right after the rendered config's)."""
    rpc = settings.flink_rpc_port
    managers: list[tuple[str, list[str]]] = [("flink-taskmanager", [])]
    if settings.ha:
        managers.append(
            (
                "flink-taskmanager-2",
                [f"-Dtaskmanager.rpc.port={rpc + 4}", f"-Dtaskmanager.data.port={rpc + 5}"],
            )
        )
    return managers


def monitoring_services(settings: Settings) -> list[Service]:
    """Prometheus, Alertmanager and the PostgreSQL and Redis exporters (Debian's packages),
    on 127.0.0.1; their configs are rendered into <state>/monitoring (render.py)."""
    root, metrics = settings.state_dir / "monitoring", settings.metrics_ports
    # the exporter reads as the read-only role, which provisioning makes a member of pg_monitor
    # (`stack up` stops earlier, naming PG_READER_PASSWORD, when it is not set)
    reader = role_name("reader")
    db = settings.pg_reader_password.get_secret_value() if settings.pg_reader_password else ""
    return [
        Service(
            name="postgres-exporter",
            command=[
                "prometheus-postgres-exporter",
                f"--web.listen-address=127.0.0.1:{metrics['postgres-exporter']}",
            ],
            ports={"metrics": metrics["postgres-exporter"]},
            env={
                "DATA_SOURCE_NAME": f"host={settings.db_host} port={settings.db_port} "
                f"dbname={settings.db_name} user={reader} password={db} sslmode=disable"
            },
            health="postgres-exporter",
        ),
        Service(  # Flink's metrics from its REST API, on loopback (its reporter would not be)
            name="flink-exporter",
            command=[
                sys.executable,
                "-m",
                "adnomaly_cli",
                "flink",
                "exporter",
                f"--rest-url={settings.flink_rest_url}",
                f"--port={metrics['flink-exporter']}",
            ],
            ports={"metrics": metrics["flink-exporter"]},
            health="flink-exporter",
        ),
        Service(
            name="redis-exporter",
            command=[
                "prometheus-redis-exporter",
                f"-web.listen-address=127.0.0.1:{metrics['redis-exporter']}",
                f"-redis.addr=redis://{settings.redis_host}:{settings.redis_port}",
            ],
            ports={"metrics": metrics["redis-exporter"]},
            env={"REDIS_PASSWORD": settings.redis_password.get_secret_value()},
            health="redis-exporter",
        ),
        Service(
            name="alertmanager",
            command=[
                "prometheus-alertmanager",
                f"--config.file={root / 'alertmanager.yml'}",
                f"--storage.path={root / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{settings.alertmanager_port}",
                "--cluster.listen-address=",  # a single instance: no gossip port
            ],
            ports={"ui": settings.alertmanager_port},
            health="alertmanager",
            env_names=("ALERTMANAGER_PORT",),
        ),
        Service(
            name="prometheus",
            command=[
                "prometheus",
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'prometheus'}",
                "--storage.tsdb.retention.time=15d",
                f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
            ],
            ports={"ui": settings.prometheus_port},
            health="prometheus",
            env_names=("PROMETHEUS_PORT",),
        ),
    ]


def dagster_service(settings: Settings) -> Service:
    """`dg dev` (webserver + daemon) on the stack's PostgreSQL instance storage.

    Given the workspace file, dg dev starts from this stack's state dir; in project mode it
    would enter the project root and load the project's `.env` over the environment, so a
    stack with other settings (a test slot) would reach the user's servers."""
    bin_dir = Path(sys.executable).parent
    return Service(
        name="dagster",
        command=[
            str(bin_dir / "dg"),
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(settings.dagster_port),
        ],
        ports={"ui": settings.dagster_port},
        env={
            **service_env(settings, "dagster"),
            "DAGSTER_HOME": str(settings.state_dir / "dagster"),
        },
        # dagster loads `.env` from its working directory over the environment: run it where
        # render.py writes this stack's own settings, never the project's .env
        cwd=settings.state_dir / "dagster",
        health="dagster",
        autostart=settings.with_dagster,
        stop_wait_s=60,
        env_names=("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DAGSTER_DB_NAME"),
    )


# a supervised stream service serves its metrics (streaming/metrics.py) for Prometheus
EXPORTING = {"ADNOMALY_EXPORT_METRICS": "1"}


# the consuming services the HA profile runs twice, in one consumer group each
SCALED = ("db-sink", "lake-sink", "feast-ingestor", "detector")


def service_kind(name: str) -> str:
    """`db-sink-2` is an instance of `db-sink`: same principal, role and command."""
    base, _, number = name.rpartition("-")
    return base if number.isdigit() and base in SCALED else name


def scaled(settings: Settings, service: Service, instance: int) -> Service:
    """Instance `instance` of a consuming service: its own --instance-id (a static member of
    the same group) and its own metrics port: a service serves on METRICS_PORT + its kind's
    offset, so this instance's METRICS_PORT is moved by the distance to its own offset."""
    name = f"{service.name}-{instance}"
    command = [
        f"{service.name}-{instance}" if part == f"{service.name}-1" else part
        for part in service.command
    ]
    ports = settings.metrics_ports
    shift = ports[name] - ports[service.name]
    env = {**service.env, "METRICS_PORT": str(settings.metrics_port + shift)}
    return replace(service, name=name, command=command, env=env)


def app_services(settings: Settings) -> list[Service]:
    """The project's long-running Python services; they join the same supervisor but start on
    demand (`adnomaly stack start NAME`) so `make up` brings up only the servers. The HA
    profile adds a second instance of each consuming service (`db-sink-2`, ...)."""
    services = _app_services(settings)
    extra = [
        scaled(settings, s, i)
        for s in services
        if s.name in SCALED
        for i in range(2, settings.instances + 1)
    ]
    return [*services, *extra]


def _app_services(settings: Settings) -> list[Service]:
    cli = [sys.executable, "-m", "adnomaly_cli"]
    return [
        Service(
            name="generator",
            command=[*cli, "gen"],
            env=EXPORTING,
            ports={},
            health="process",
            autostart=False,
        ),
        Service(
            name="db-sink",
            env=EXPORTING,
            command=[*cli, "sink", "db", "--instance-id", "db-sink-1"],
            ports={},
            health="process",
            autostart=False,
        ),
        Service(
            name="lake-sink",
            env=EXPORTING,
            command=[*cli, "sink", "lake", "--instance-id", "lake-sink-1"],
            ports={},
            health="process",
            autostart=False,
        ),
        Service(
            name="feast-ingestor",
            env=EXPORTING,
            command=[*cli, "features", "ingest", "--instance-id", "feast-ingestor-1"],
            ports={},
            health="process",
            autostart=False,
        ),
        Service(
            name="detector",
            env=EXPORTING,
            command=[*cli, "detect-stream", "--instance-id", "detector-1"],
            ports={},
            health="process",
            autostart=False,
        ),
        Service(  # the incidents app (Streamlit); `make ui` starts it
            name="ui",
            command=[*cli, "ui"],
            ports={"ui": settings.ui_port},
            health="ui",
            autostart=False,
            env_names=("UI_PORT", "UI_USER", "UI_PASSWORD"),
        ),
    ]


# the Kafka principal each supervised Python service acts as (streaming/kafka/principals.py)
KAFKA_PRINCIPAL_OF = {
    "generator": "generator",
    "db-sink": "db-sink",
    "lake-sink": "lake-sink",
    "feast-ingestor": "feast-ingestor",
    "detector": "detector",
    "ui": "monitor",
    "dagster": "monitor",
}


# ... and the PostgreSQL role (streaming/db/roles.py; "owner" is DB_USER)
DB_ROLE_OF = {
    "generator": "generator",
    "db-sink": "db_sink",
    "lake-sink": "lake_sink",
    "feast-ingestor": "reader",
    "detector": "detector",
    "ui": "ui",
    "dagster": "owner",
}


def service_env(settings: Settings, name: str) -> dict[str, str]:
    """The stack's settings for supervised service `name`, with only its own credentials: its
    Kafka principal's password, and its PostgreSQL role as DB_USER/DB_PASSWORD. No override
    (KAFKA_PRINCIPAL, DB_ROLE) is passed on: a service is always itself."""
    name = service_kind(name)
    own_kafka = str(
        Settings.model_fields[settings.kafka_password_field(KAFKA_PRINCIPAL_OF[name])].alias
    )
    env = {
        key: value
        for key, value in settings_env(settings).items()
        if key == own_kafka or not (key.startswith("KAFKA_") and key.endswith("_PASSWORD"))
        if not (key.startswith("PG_") and key.endswith("_PASSWORD"))
        if key not in ("KAFKA_PRINCIPAL", "DB_ROLE")
    }
    if DB_ROLE_OF[name] != "owner":
        env["DB_USER"], env["DB_PASSWORD"] = settings.db_login(DB_ROLE_OF[name], override=False)
    return env


def all_services(settings: Settings, tools: Tools) -> list[Service]:
    apps = [
        replace(s, env={**service_env(settings, s.name), **s.env}) for s in app_services(settings)
    ]
    return [*infra_services(settings, tools), dagster_service(settings), *apps]
