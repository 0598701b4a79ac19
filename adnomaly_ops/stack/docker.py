"""The Docker Compose variant of the stack, used when a Docker engine answers."""

from __future__ import annotations

import shutil
import subprocess

from adnomaly_ops.stack import kafka_auth, provision
from streaming.kafka.topics import ensure_topics
from streaming.settings import PROJECT_ROOT, Settings

COMPOSE_FILE = PROJECT_ROOT / "infra" / "docker-compose.yml"


def engine_available() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0


def _compose(*args: str) -> None:
    env_file = PROJECT_ROOT / ".env"
    argv = ["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    subprocess.run(argv, check=True)


def up(settings: Settings) -> None:
    """Start the services, then as the native stack does: migrations and the per-service
    roles' grants (as the schema owner), topics, Kafka credentials and ACLs (as admin)."""
    if settings.ha:
        # one broker could not hold topics of replication factor 3: say so before starting
        raise RuntimeError(
            "ADNOMALY_PROFILE=ha runs on the native stack only (ADNOMALY_STACK=native): the "
            "compose file has no HA variant yet"
        )
    _compose("up", "-d", "--build", "--wait")
    provision.schema_and_grants(settings)
    ensure_topics(settings)
    kafka_auth.provision(settings)


def down(settings: Settings) -> None:
    _compose("down")


def status(settings: Settings) -> None:
    _compose("ps", "--format", "table {{.Service}}\t{{.State}}\t{{.Health}}\t{{.Ports}}")
