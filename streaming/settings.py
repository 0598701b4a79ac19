"""The one settings object every service, CLI command, Dagster resource and the Feast repo reads.

Every topic, consumer group, job and path name is a field here, with the environment variable
it is read from (README, "Configuration"); nothing else in the project reads the environment.
Credentials have no default in code: they come from the environment or from `.env` (copied
from `.env.example` by `make bootstrap`), and a missing one fails at start naming the variable.
A child process gets the settings back as variables (`settings_env`, `child_env`), so it sees
exactly the configuration of the process that started it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PositiveFloat,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# each exporter's port is METRICS_PORT plus its offset; the project's stream services first
METRICS_OFFSETS = {
    "generator": 1,
    "db-sink": 2,
    "lake-sink": 3,
    "feast-ingestor": 4,
    "detector": 5,
    "kafka": 10,  # the JMX exporter agent inside the broker's JVM
    "postgres-exporter": 11,
    "redis-exporter": 12,
    "flink-exporter": 13,  # Flink's metrics from its REST API (streaming/flink/exporter.py)
    # the high-availability profile's extra processes (ADNOMALY_PROFILE=ha): the second
    # instance of each consuming service, the other two Kafka nodes' JMX agents
    "db-sink-2": 6,
    "lake-sink-2": 7,
    "feast-ingestor-2": 8,
    "detector-2": 9,
    "kafka-2": 16,
    "kafka-3": 17,
}
# in the HA profile Kafka node N (1..3) listens on KAFKA_BOOTSTRAP's port + (N-1)*KAFKA_NODE_STEP
# and KAFKA_CONTROLLER_PORT + (N-1)*KAFKA_NODE_STEP
KAFKA_NODE_STEP = 10
HA_KAFKA_NODES = 3


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the environment variable."""


def _env_file() -> Path | None:
    explicit = os.environ.get("ADNOMALY_ENV_FILE")
    if explicit:
        return Path(explicit)
    candidate = PROJECT_ROOT / ".env"
    return candidate if candidate.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    # data generation
    events_per_sec: PositiveFloat = Field(120.0, alias="EVENTS_PER_SEC")
    hash_salt: SecretStr = Field(alias="HASH_SALT")

    # Kafka
    kafka_bootstrap: str = Field("localhost:29092", alias="KAFKA_BOOTSTRAP")
    kafka_controller_port: int = Field(29093, alias="KAFKA_CONTROLLER_PORT", gt=0, lt=65536)
    # SASL/SCRAM: one principal per service (streaming/kafka/principals.py says what each may
    # do). A process is given only its own password; KAFKA_PRINCIPAL makes a command act as
    # another principal (e.g. admin on a scratch topic) instead of its own.
    kafka_principal: str | None = Field(None, alias="KAFKA_PRINCIPAL")
    kafka_admin_password: SecretStr | None = Field(None, alias="KAFKA_ADMIN_PASSWORD")
    kafka_generator_password: SecretStr | None = Field(None, alias="KAFKA_GENERATOR_PASSWORD")
    kafka_db_sink_password: SecretStr | None = Field(None, alias="KAFKA_DB_SINK_PASSWORD")
    kafka_lake_sink_password: SecretStr | None = Field(None, alias="KAFKA_LAKE_SINK_PASSWORD")
    kafka_flink_password: SecretStr | None = Field(None, alias="KAFKA_FLINK_PASSWORD")
    kafka_feast_ingestor_password: SecretStr | None = Field(
        None, alias="KAFKA_FEAST_INGESTOR_PASSWORD"
    )
    kafka_detector_password: SecretStr | None = Field(None, alias="KAFKA_DETECTOR_PASSWORD")
    kafka_monitor_password: SecretStr | None = Field(None, alias="KAFKA_MONITOR_PASSWORD")
    topic: str = Field("clickstream", alias="TOPIC")
    features_topic: str = Field("features", alias="FEATURES_TOPIC")
    anomalies_topic: str = Field("anomalies", alias="ANOMALIES_TOPIC")
    dlq_topic: str = Field("clickstream.dlq", alias="DLQ_TOPIC")
    labels_topic: str = Field("fraud_labels", alias="LABELS_TOPIC")
    # consumer groups: one name each, shared by the services, the tooling and Dagster
    db_sink_group: str = Field("adnomaly-db-sink", alias="DB_SINK_GROUP")
    lake_sink_group: str = Field("adnomaly-lake-sink", alias="LAKE_SINK_GROUP")
    feast_ingestor_group: str = Field("adnomaly-feast-ingestor", alias="FEAST_INGESTOR_GROUP")
    detector_group: str = Field("adnomaly-detector", alias="DETECTOR_GROUP")
    flink_group: str = Field("adnomaly-flink-features", alias="FLINK_GROUP")

    # PostgreSQL
    db_host: str = Field("localhost", alias="DB_HOST")
    db_port: int = Field(5433, alias="DB_PORT", gt=0, lt=65536)
    db_name: str = Field("adnomaly", alias="DB_NAME")
    db_user: str = Field("adnomaly_user", alias="DB_USER")
    db_password: SecretStr = Field(alias="DB_PASSWORD")
    dagster_db_name: str = Field("dagster", alias="DAGSTER_DB_NAME")
    # a role per service (streaming/db/roles.py); the stack manager hands each supervised
    # service its own as DB_USER/DB_PASSWORD. DB_ROLE=owner makes the Flink job use DB_USER.
    pg_generator_password: SecretStr | None = Field(None, alias="PG_GENERATOR_PASSWORD")
    pg_db_sink_password: SecretStr | None = Field(None, alias="PG_DB_SINK_PASSWORD")
    pg_lake_sink_password: SecretStr | None = Field(None, alias="PG_LAKE_SINK_PASSWORD")
    pg_flink_password: SecretStr | None = Field(None, alias="PG_FLINK_PASSWORD")
    pg_detector_password: SecretStr | None = Field(None, alias="PG_DETECTOR_PASSWORD")
    pg_ui_password: SecretStr | None = Field(None, alias="PG_UI_PASSWORD")
    pg_reader_password: SecretStr | None = Field(None, alias="PG_READER_PASSWORD")
    db_role: str | None = Field(None, alias="DB_ROLE")

    # MinIO
    minio_endpoint: str = Field("localhost:9000", alias="MINIO_ENDPOINT")
    minio_console_port: int = Field(9001, alias="MINIO_CONSOLE_PORT", gt=0, lt=65536)
    minio_access_key: str = Field(alias="MINIO_ACCESS_KEY")
    minio_secret_key: SecretStr = Field(alias="MINIO_SECRET_KEY")
    minio_bucket: str = Field("adnomaly-data", alias="MINIO_BUCKET")
    lake_prefix: str = Field("clickstream", alias="LAKE_PREFIX")  # raw JSONL under it

    # Redis (Feast online store)
    redis_host: str = Field("localhost", alias="REDIS_HOST")
    redis_port: int = Field(6379, alias="REDIS_PORT", gt=0, lt=65536)
    redis_password: SecretStr = Field(alias="REDIS_PASSWORD")

    # Feast
    feature_repo_path: Path = Field(PROJECT_ROOT / "feature_repo", alias="FEATURE_REPO_PATH")
    feature_view_name: str = Field("traffic_5m_by_geo_platform", alias="FEATURE_VIEW_NAME")

    # Flink
    flink_rest_url: str = Field("http://localhost:8081", alias="FLINK_REST_URL")
    flink_rpc_port: int = Field(6123, alias="FLINK_RPC_PORT", gt=0, lt=65536)
    flink_job_name: str = Field("adnomaly-features", alias="FLINK_JOB_NAME")

    # pgAdmin (native: its own venv under the tools dir; login from .env)
    pgadmin_port: int = Field(5050, alias="PGADMIN_PORT", gt=0, lt=65536)
    pgadmin_email: str = Field("admin@adnomaly.com", alias="PGADMIN_EMAIL")
    # only the stack manager needs it (see require_pgadmin_password); services run without it
    pgadmin_password: SecretStr | None = Field(None, alias="PGADMIN_PASSWORD", min_length=6)

    # Dagster
    dagster_port: int = Field(3000, alias="DAGSTER_PORT", gt=0, lt=65536)
    with_dagster: bool = Field(True, alias="ADNOMALY_WITH_DAGSTER")
    # stream health: where the Dagster stream-health checks turn red
    max_consumer_lag: int = Field(100_000, alias="ADNOMALY_MAX_LAG", ge=0)
    max_seconds_since_event: PositiveFloat = Field(600.0, alias="ADNOMALY_MAX_SECONDS_SINCE_EVENT")
    max_dlq_growth: int = Field(100, alias="ADNOMALY_MAX_DLQ_GROWTH", ge=0)  # per 10 minutes
    # live model quality: where the Dagster check on detection_live_quality turns red
    min_live_precision: float = Field(0.5, alias="ADNOMALY_MIN_LIVE_PRECISION", ge=0, le=1)
    min_live_recall: float = Field(0.5, alias="ADNOMALY_MIN_LIVE_RECALL", ge=0, le=1)

    # the incidents app (adnomaly_app); it refuses to start while UI_PASSWORD is unset
    ui_host: str = Field("127.0.0.1", alias="UI_HOST")
    ui_port: int = Field(8501, alias="UI_PORT", gt=0, lt=65536)
    ui_user: str = Field("analyst", alias="UI_USER", min_length=1)
    ui_password: SecretStr | None = Field(None, alias="UI_PASSWORD")

    # monitoring (README, "Monitoring"): Prometheus, Alertmanager, and every exporter's port
    prometheus_port: int = Field(9090, alias="PROMETHEUS_PORT", gt=0, lt=65536)
    alertmanager_port: int = Field(9093, alias="ALERTMANAGER_PORT", gt=0, lt=65536)
    # the exporters listen on METRICS_PORT + a fixed offset each (METRICS_OFFSETS)
    metrics_port: int = Field(9400, alias="METRICS_PORT", gt=0, lt=65536 - 100)
    # where they bind: loopback natively; a container's own interfaces in compose, where
    # Prometheus scrapes them over the compose network (never published on the host)
    metrics_host: str = Field("127.0.0.1", alias="METRICS_HOST")
    # a stream service exports /metrics (off in the test process, whose in-process services
    # must not take the supervised ones' ports)
    export_metrics: bool = Field(True, alias="ADNOMALY_EXPORT_METRICS")

    # the stack itself
    state_dir: Path = Field(PROJECT_ROOT / ".adnomaly", alias="ADNOMALY_STATE_DIR")
    tools_dir: Path = Field(PROJECT_ROOT / ".tools", alias="ADNOMALY_TOOLS_DIR")
    stack: Literal["auto", "native", "docker"] = Field("auto", alias="ADNOMALY_STACK")
    # single: one of everything; ha: 3 Kafka nodes (RF 3, min.insync.replicas 2), 2 Flink
    # TaskManagers (features job at parallelism 2), two instances of each consuming service,
    # MinIO erasure-coded over 4 drives (README, "High availability")
    profile: Literal["single", "ha"] = Field("single", alias="ADNOMALY_PROFILE")

    # Feast's registry and offline Parquet: state, never in git. feature_store.yaml substitutes
    # FEAST_REGISTRY_PATH itself and Feast reads a relative path from the repo dir, so a relative
    # value here is taken from FEATURE_REPO_PATH too (`.env`: ../.adnomaly/feast/...).
    feast_registry_path: Path = Field(
        default_factory=lambda data: data["state_dir"] / "feast" / "registry.db",
        alias="FEAST_REGISTRY_PATH",
    )
    feast_offline_dir: Path = Field(
        default_factory=lambda data: data["state_dir"] / "feast" / "offline",
        alias="FEAST_OFFLINE_DIR",
    )

    @field_validator("state_dir", "tools_dir", "feature_repo_path")
    @classmethod
    def _relative_to_project(cls, value: Path) -> Path:
        return value if value.is_absolute() else PROJECT_ROOT / value

    @field_validator("feast_registry_path", "feast_offline_dir")
    @classmethod
    def _relative_to_feature_repo(cls, value: Path, info: ValidationInfo) -> Path:
        repo: Path = info.data.get("feature_repo_path", PROJECT_ROOT / "feature_repo")
        return (value if value.is_absolute() else repo / value).resolve()

    @model_validator(mode="after")
    def _ha_bootstrap(self) -> Settings:
        """In the HA profile a client bootstraps from every Kafka node, so one node down never
        keeps a new client out; KAFKA_BOOTSTRAP names node 1 and the others follow from it."""
        if self.profile == "ha" and "," not in self.kafka_bootstrap:
            host, port = self.kafka_bootstrap.rsplit(":", 1)
            nodes = [f"{host}:{int(port) + i * KAFKA_NODE_STEP}" for i in range(HA_KAFKA_NODES)]
            self.kafka_bootstrap = ",".join(nodes)
        return self

    @property
    def ha(self) -> bool:
        return self.profile == "ha"

    @property
    def kafka_nodes(self) -> list[tuple[int, int, int]]:
        """(node id, client port, controller port) of each Kafka node of the profile."""
        count = HA_KAFKA_NODES if self.ha else 1
        return [
            (
                i + 1,
                self.kafka_port + i * KAFKA_NODE_STEP,
                self.kafka_controller_port + i * KAFKA_NODE_STEP,
            )
            for i in range(count)
        ]

    @property
    def replication_factor(self) -> int:
        return HA_KAFKA_NODES if self.ha else 1

    @property
    def min_insync_replicas(self) -> int:
        """acks=all producers fail rather than write to fewer replicas than this."""
        return 2 if self.ha else 1

    @property
    def instances(self) -> int:
        """How many instances of each consuming service (sinks, ingestor, detector) run."""
        return 2 if self.ha else 1

    @property
    def flink_parallelism(self) -> int:
        """The features job's parallelism: one slot per TaskManager's worth in HA."""
        return 2 if self.ha else 1

    @property
    def db_dsn(self) -> str:
        """libpq keyword DSN for psycopg (password included; never log it)."""
        return (
            f"host={self.db_host} port={self.db_port} dbname={self.db_name} "
            f"user={self.db_user} password={self.db_password.get_secret_value()}"
        )

    def kafka_password_field(self, principal: str) -> str:
        name = f"kafka_{principal.replace('-', '_')}_password"
        if name not in type(self).model_fields:
            raise SettingsError(f"unknown Kafka principal {principal!r}")
        return name

    def kafka_password(self, principal: str) -> str:
        """The principal's SCRAM password, or an error naming the variable that is missing."""
        name = self.kafka_password_field(principal)
        value = getattr(self, name)
        if value is None:
            alias = type(self).model_fields[name].alias
            raise SettingsError(f"{alias} is not set (see .env.example)")
        return str(value.get_secret_value())

    def db_login(self, role: str, override: bool = True) -> tuple[str, str]:
        """(user, password) of a service's PostgreSQL role; the owner's for role "owner", or
        when DB_ROLE=owner and `override`. A missing password is an error naming its variable."""
        if role == "owner" or (override and self.db_role == "owner"):
            return self.db_user, self.db_password.get_secret_value()
        name = f"pg_{role}_password"
        if name not in type(self).model_fields:
            raise SettingsError(f"unknown PostgreSQL role {role!r}")
        value = getattr(self, name)
        if value is None:
            raise SettingsError(
                f"{type(self).model_fields[name].alias} is not set (see .env.example)"
            )
        return f"adnomaly_{role}", str(value.get_secret_value())

    def require_pgadmin_password(self) -> str:
        if self.pgadmin_password is None:
            raise SettingsError("PGADMIN_PASSWORD is not set (see .env.example)")
        return self.pgadmin_password.get_secret_value()

    @property
    def group_topics(self) -> dict[str, str]:
        """Each pipeline consumer group (Flink's included) and the topic it reads."""
        return {
            self.db_sink_group: self.topic,
            self.lake_sink_group: self.topic,
            self.flink_group: self.topic,
            self.feast_ingestor_group: self.features_topic,
            self.detector_group: self.features_topic,
        }

    @property
    def metrics_ports(self) -> dict[str, int]:
        """Where each exporter listens on 127.0.0.1, by the name Prometheus scrapes it as."""
        return {name: self.metrics_port + offset for name, offset in METRICS_OFFSETS.items()}

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def minio_url(self) -> str:
        return f"http://{self.minio_endpoint}"

    @property
    def kafka_port(self) -> int:
        """Node 1's port: the first address of KAFKA_BOOTSTRAP."""
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def minio_port(self) -> int:
        return int(self.minio_endpoint.rsplit(":", 1)[1])

    @property
    def flink_rest_port(self) -> int:
        return int(self.flink_rest_url.rstrip("/").rsplit(":", 1)[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as the environment variable it is read from, for supervised child
    processes: a service sees exactly the configuration of the stack that started it."""
    env: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if value is None:  # an unset optional setting stays unset, never the text "None"
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[str(field.alias)] = str(value)
    return env


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a child process (this one's, PATH and the like included) with every
    setting as its variable, so the child's `load_settings()` returns these settings."""
    return {**os.environ, **settings_env(settings), **extra}


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and `.env`), failing with the variable's name."""
    try:
        return Settings(_env_file=_env_file(), **overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            if err["type"] == "missing":
                problems.append(f"{name} is not set (see .env.example)")
            else:
                problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
