"""The Docker Compose variant of the stack, used when a Docker engine answers."""

from __future__ import annotations

import shutil
import subprocess

from adnomaly_ops.stack import kafka_auth, provision
from streaming.kafka.topics import ensure_topics
from streaming.settings import PROJECT_ROOT, Settings

COMPOSE_FILE = PROJECT_ROOT / "infra" / "docker-compose.yml"
# laid over COMPOSE_FILE in the HA profile: 3 Kafka nodes, 2 TaskManagers, 2 instances of each
# consuming service, MinIO over 4 drives
HA_FILE = PROJECT_ROOT / "infra" / "docker-compose.ha.yml"


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


def _compose(settings: Settings, *args: str) -> None:
    files = [COMPOSE_FILE, HA_FILE] if settings.ha else [COMPOSE_FILE]
    argv = ["docker", "compose", *(f"--file={f}" for f in files)]
    argv += ["--env-file", str(PROJECT_ROOT / ".env"), *args]
    subprocess.run(argv, check=True)


def up(settings: Settings) -> None:
    """Start the services, then as the native stack does: migrations and the per-service
    roles' grants (as the schema owner), topics, Kafka credentials and ACLs (as admin)."""
    _compose(settings, "up", "-d", "--build", "--wait")
    provision.schema_and_grants(settings)
    ensure_topics(settings)
    kafka_auth.provision(settings)


def down(settings: Settings) -> None:
    _compose(settings, "down")


def status(settings: Settings) -> None:
    _compose(settings, "ps", "--format", "table {{.Service}}\t{{.State}}\t{{.Health}}\t{{.Ports}}")
