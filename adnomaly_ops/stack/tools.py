"""Where `make bootstrap` puts the binaries and jars the native stack runs.

Tools are shared by every state directory (a user's stack and the test suite's), so they live
outside the state dir, in `.tools/` by default.
"""

from __future__ import annotations

import glob
import shutil
from dataclasses import dataclass
from pathlib import Path

from streaming.flink.dist import pyflink_home
from streaming.settings import Settings

# Debian's packages (infra/bootstrap.sh), each binary named as its package
MONITORING_BINARIES = (
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
)


class ToolMissingError(RuntimeError):
    """A binary or jar the native stack needs is absent; `make bootstrap` installs it."""


@dataclass(frozen=True)
class Tools:
    root: Path

    @property
    def kafka_libs(self) -> Path:
        return self.root / "kafka-libs"

    @property
    def flink_lib(self) -> Path:
        return self.root / "flink-lib"  # the same place as streaming.flink.dist.flink_lib

    @property
    def jmx_agent(self) -> Path:
        """The Prometheus JMX exporter, a java agent in the Kafka broker's JVM."""
        return self.root / "jmx-exporter" / "jmx_prometheus_javaagent.jar"

    @property
    def minio(self) -> Path:
        return self.root / "bin" / "minio"

    @property
    def pgadmin_python(self) -> Path:
        """pgAdmin lives in a venv of its own: its pins (Flask, SQLAlchemy) are not ours."""
        return self.root / "pgadmin" / "bin" / "python"

    @property
    def pyflink_home(self) -> Path:
        return pyflink_home()

    @staticmethod
    def postgres_bindir() -> Path:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not candidates:
            raise ToolMissingError("PostgreSQL server not found under /usr/lib/postgresql")
        return Path(candidates[-1]).parent

    @staticmethod
    def redis_server() -> Path:
        found = shutil.which("redis-server")
        if not found:
            raise ToolMissingError("redis-server not found on PATH (apt package redis-server)")
        return Path(found)

    def check(self) -> None:
        """Fail early, naming each missing piece, instead of a service crash-looping later."""
        missing = []
        if not any(self.kafka_libs.glob("kafka_2.13-*.jar")):
            missing.append(f"Kafka jars in {self.kafka_libs}")
        if not any(self.flink_lib.glob("flink-sql-connector-kafka-*.jar")):
            missing.append(f"Flink lib with the Kafka SQL connector in {self.flink_lib}")
        if not any(self.flink_lib.glob("flink-metrics-prometheus-*.jar")):
            missing.append(f"Flink's Prometheus reporter in {self.flink_lib}")
        if not self.jmx_agent.exists():
            missing.append(f"JMX exporter agent {self.jmx_agent}")
        for binary in MONITORING_BINARIES:
            if not shutil.which(binary):
                missing.append(f"{binary} (Debian package of the same name)")
        if not self.minio.exists():
            missing.append(f"MinIO binary {self.minio}")
        if not self.pgadmin_python.exists():
            missing.append(f"pgAdmin venv {self.pgadmin_python.parent.parent}")
        for probe in (self.postgres_bindir, self.redis_server):
            try:
                probe()
            except ToolMissingError as exc:
                missing.append(str(exc))
        if missing:
            raise ToolMissingError("run `make bootstrap` first; missing: " + "; ".join(missing))


def tools_for(settings: Settings) -> Tools:
    return Tools(settings.tools_dir)
