"""The Docker Compose variant of the stack, used when a Docker engine answers."""

from __future__ import annotations

import shutil
import subprocess

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
    _compose("up", "-d", "--build", "--wait")


def down(settings: Settings) -> None:
    _compose("down")


def status(settings: Settings) -> None:
    _compose("ps", "--format", "table {{.Service}}\t{{.State}}\t{{.Health}}\t{{.Ports}}")
