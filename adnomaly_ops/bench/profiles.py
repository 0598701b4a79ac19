"""A stack of the other profile for `make bench`, which measures the capacity of both.

The running stack (`make up`) is measured as it is. For the other profile the bench starts a
stack of its own beside it: same credentials and configuration, its own state directory
(`<state dir>-<profile>`) and its own ports, clear of the default stack's and of the test
suite's slots (ADNOMALY_TEST_SLOT 1-9). It stops that stack again afterwards, unless it was
already running before (then it was somebody's, and stays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from adnomaly_ops.stack import native
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.settings import Settings, load_settings, settings_env

# one block of its own, 41092-41314: clear of the default stack's ports and of the test slots'
# (tests/unit/test_capacity_result.py checks both profiles against them)
OWN_PORTS = {
    "KAFKA_BOOTSTRAP": "127.0.0.1:41092",  # HA nodes 2 and 3 at +10, +20
    "KAFKA_CONTROLLER_PORT": "41093",
    "DB_PORT": "41200",
    "MINIO_ENDPOINT": "127.0.0.1:41201",
    "MINIO_CONSOLE_PORT": "41202",
    "REDIS_PORT": "41203",
    "FLINK_REST_URL": "http://127.0.0.1:41204",
    "DAGSTER_PORT": "41205",
    "PGADMIN_PORT": "41206",
    "UI_PORT": "41207",
    "PROMETHEUS_PORT": "41208",
    "ALERTMANAGER_PORT": "41209",
    "FLINK_RPC_PORT": "41210",  # blob, TaskManager RPC and data at +1..+3
    "METRICS_PORT": "41300",  # the exporters at +1..+14
}


def settings_for(settings: Settings, profile: str) -> Settings:
    """The settings of the bench's own stack of `profile`."""
    state_dir = settings.state_dir.with_name(f"{settings.state_dir.name}-{profile}")
    env = {
        **settings_env(settings),
        **OWN_PORTS,
        "ADNOMALY_PROFILE": profile,
        "ADNOMALY_STATE_DIR": str(state_dir),
        "FEAST_REGISTRY_PATH": str(state_dir / "feast" / "registry.db"),
        "FEAST_OFFLINE_DIR": str(state_dir / "feast" / "offline"),
        "ADNOMALY_WITH_DAGSTER": "0",  # the capacity bench needs the pipeline, not the UI
    }
    return load_settings(**env)


@contextmanager
def stack_of(
    settings: Settings, profile: str, say: Callable[[str], None] = print
) -> Iterator[Settings]:
    """`settings` when the running stack is of `profile`; else the bench's own stack of it,
    started here (and stopped again when it was not running before)."""
    if settings.profile == profile:
        yield settings
        return
    other = settings_for(settings, profile)
    was_running = Supervisor(other).pid() is not None
    say(f"starting a {profile}-profile stack in {other.state_dir} for the bench")
    try:
        native.up(other, deadline_s=480)
        yield other
    finally:
        if not was_running:
            say(f"stopping the bench's {profile}-profile stack")
            native.down(other)
