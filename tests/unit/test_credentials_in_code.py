"""Security basics that need no server: no credential literal in the repository outside
`.env.example`, the compose files' defaults and the README that documents them; SQL checked by
ruff's bandit rules (string-built SQL is S608)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from streaming.settings import PROJECT_ROOT

# where the documented defaults may appear: the defaults themselves and their documentation
# (the compose files write each credential only as ${VAR:-its .env.example default}, which the
# compose parity tests check)
ALLOWED = {".env.example", "infra/docker-compose.yml", "infra/docker-compose.ha.yml", "README.md"}
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET_KEY|SECRET|SALT|ACCESS_KEY|TOKEN)$")
ASSIGNED_LITERAL = re.compile(
    r"""(?ix)(password|passwd|secret|api_?key|token)["']?\s*[:=]\s*["']([^"'${}\s]{6,})["']"""
)


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    files = []
    for name in names:
        path = PROJECT_ROOT / name
        if name in ALLOWED or not path.is_file() or path.suffix in {".png", ".lock"}:
            continue
        files.append(path)
    return files


def _example_secrets() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs if SECRET_NAMES.search(k.strip()) and v.strip()}


def test_env_example_defines_the_credentials() -> None:
    assert {"DB_PASSWORD", "MINIO_SECRET_KEY", "REDIS_PASSWORD", "HASH_SALT"} <= set(
        _example_secrets()
    )


def test_no_default_credential_outside_env_example_and_compose() -> None:
    secrets = _example_secrets()
    found = [
        f"{path.relative_to(PROJECT_ROOT)} contains {name}'s default"
        for path in _tracked_text_files()
        for name, value in secrets.items()
        if value in path.read_text(errors="replace")
    ]
    assert not found, found


def test_no_credential_assigned_as_a_literal_in_code() -> None:
    found = []
    for path in _tracked_text_files():
        if path.suffix not in {".py", ".yaml", ".yml", ".conf", ".properties", ".toml", ".sh"}:
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = ASSIGNED_LITERAL.search(line)
            if match:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{lineno}: {match.group(0)}")
    assert not found, found


def test_the_literal_scan_catches_a_planted_credential() -> None:
    planted = "hunter2-" + "prod"  # built here so the scan of this very file stays clean
    assert ASSIGNED_LITERAL.search(f'DB_PASSWORD = "{planted}"')
    assert ASSIGNED_LITERAL.search(f'"redis_password": "{planted}"')
    assert not ASSIGNED_LITERAL.search('password = os.environ["DB_PASSWORD"]')
    assert not ASSIGNED_LITERAL.search('REDIS_PASSWORD: "${REDIS_PASSWORD}"')


def test_bandit_rules_guard_sql_building() -> None:
    lint = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert "S608" not in lint.get("ignore", []), "string-built SQL must stay an error"
    per_file = lint.get("per-file-ignores", {})
    assert not [f for f, rules in per_file.items() if "S608" in rules or "S" in rules], per_file
