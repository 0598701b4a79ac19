"""Test configuration: the suite runs against its own native stack, never a user's.

The environment below is set before any settings are read: its own state dir and ports, and its
own credentials, so a user's `.env` or running stack is never touched.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from streaming.db.roles import ROLES
from streaming.kafka.principals import PRINCIPALS

ROOT = Path(__file__).resolve().parent.parent

# ADNOMALY_TEST_SLOT=N (1..4) gives a parallel test stack its own state dir and ports, so two
# suites (e.g. two developers' worktrees on one machine) never meet.
SLOT = int(os.environ.get("ADNOMALY_TEST_SLOT", "0"))
OFFSET = SLOT * 100


def _port(base: int) -> str:
    return str(base + OFFSET)


def _credentials() -> dict[str, str]:
    """Random credentials for the suite's stack, made once per checkout and slot and kept beside
    its state dir (a kept stack must still accept them); no credential literal lives in code."""
    path = ROOT / (".adnomaly-test" + (f"-{SLOT}" if SLOT else "") + ".credentials.json")
    creds = {
        "HASH_SALT": secrets.token_hex(8),
        "DB_PASSWORD": secrets.token_urlsafe(18),
        "MINIO_ACCESS_KEY": "t" + secrets.token_hex(6),
        "MINIO_SECRET_KEY": secrets.token_urlsafe(24),
        "REDIS_PASSWORD": secrets.token_urlsafe(18),
        "PGADMIN_PASSWORD": secrets.token_urlsafe(18),
        **{
            f"KAFKA_{p.upper().replace('-', '_')}_PASSWORD": secrets.token_hex(12)
            for p in PRINCIPALS
        },
        **{f"PG_{role.upper()}_PASSWORD": secrets.token_hex(12) for role in ROLES},
        "UI_PASSWORD": secrets.token_urlsafe(18),
    }
    try:
        kept = dict(json.loads(path.read_text()))
        if kept.keys() >= creds.keys():
            return kept
        creds.update(kept)  # a credential added since the file was made gets a fresh value
    except (OSError, ValueError):
        pass
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    return creds


STATE_DIR = ROOT / (".adnomaly-test" + (f"-{SLOT}" if SLOT else ""))
TEST_ENV = {
    "ADNOMALY_STACK": "native",
    "ADNOMALY_STATE_DIR": str(STATE_DIR),
    # set even though they default to the state dir: a shell that loaded .env has them exported
    "FEAST_REGISTRY_PATH": str(STATE_DIR / "feast" / "registry.db"),
    "FEAST_OFFLINE_DIR": str(STATE_DIR / "feast" / "offline"),
    "ADNOMALY_ENV_FILE": "/dev/null",
    "EVENTS_PER_SEC": "120",
    "KAFKA_BOOTSTRAP": f"127.0.0.1:{_port(39092)}",
    "KAFKA_CONTROLLER_PORT": _port(39093),
    "DB_HOST": "127.0.0.1",
    "DB_PORT": _port(15433),
    "DB_NAME": "adnomaly",
    "DB_USER": "adnomaly_user",
    "MINIO_ENDPOINT": f"127.0.0.1:{_port(19000)}",
    "MINIO_CONSOLE_PORT": _port(19001),
    "MINIO_BUCKET": "adnomaly-test",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": _port(16379),
    "FLINK_REST_URL": f"http://127.0.0.1:{_port(18081)}",
    "FLINK_RPC_PORT": _port(16123),
    "DAGSTER_PORT": _port(13000),
    "PGADMIN_PORT": _port(15050),
    # the suite's own clients and the services it runs on scratch topics act as admin (no
    # ACL names those topics); the stack's supervised services always use their own principal,
    # and the whole-pipeline tests run chaos without this, so the ACLs carry the pipeline
    "KAFKA_PRINCIPAL": "admin",
    "DB_ROLE": "owner",  # likewise for PostgreSQL: the Flink job writes scratch tables as owner
    "UI_PORT": _port(18501),
    "PROMETHEUS_PORT": _port(19090),
    "ALERTMANAGER_PORT": _port(19093),
    "METRICS_PORT": _port(19400),  # the exporters at +1..+14 (streaming/settings.py)
    # the supervised services export; the test process's own runners must not take their ports
    "ADNOMALY_EXPORT_METRICS": "0",
    "FEATURE_REPO_PATH": str(ROOT / "feature_repo"),
    # Dagster tests start it themselves; other suites need not wait for it
    "ADNOMALY_WITH_DAGSTER": "0",
    **_credentials(),
}
os.environ.update(TEST_ENV)


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Whole-pipeline tests (chaos, soak) restart servers and fill the default topics and
    tables: they run after every other test."""
    items.sort(key=lambda item: item.get_closest_marker("whole_pipeline") is not None)
