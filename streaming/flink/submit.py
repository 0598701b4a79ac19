"""Submit the features job to the stack's session cluster with the wheel's own `flink run`.

Submitting is idempotent: under a lock in the state dir, the REST API is asked for a job of the
same name that is not finished/cancelled/failed, and if one exists it is reported instead of
started again, so two `make flink-submit` (even at the same moment) never leave two copies
consuming the same topic.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streaming.flink.config import JobConfig
from streaming.flink.dist import flink_lib, pyflink_home
from streaming.flink.job import CONFIG_FLAG
from streaming.flink.rest import FlinkRest, FlinkRestError
from streaming.flink.tables import ensure_sink_tables
from streaming.kafka.topics import admin_client
from streaming.settings import Settings, child_env

_JOB_ID = re.compile(r"JobID ([0-9a-f]{32})")
_JAVA_OPTS = re.compile(r"^\s+all:\s*(--add-.*)$", re.MULTILINE)


class FlinkSubmitError(RuntimeError):
    """`flink run` failed; the message carries the first meaningful error line and the log."""


@dataclass(frozen=True)
class Submission:
    jid: str
    name: str
    already_running: bool


@contextmanager
def _lock(path: Path, deadline_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    end = time.monotonic() + deadline_s
    with path.open("w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise TimeoutError(f"another submission holds {path}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def client_env(settings: Settings) -> dict[str, str]:
    """The `flink` CLI against this stack's cluster. The wheel's module `--add-opens` list is
    passed to the client JVM because the stack's config.yaml does not carry it, and without it
    Java 17 refuses the reflection Flink's client does at start."""
    wheel_conf = (pyflink_home() / "conf" / "config.yaml").read_text()
    match = _JAVA_OPTS.search(wheel_conf)
    return child_env(
        settings,
        FLINK_CONF_DIR=str(settings.state_dir / "flink" / "conf"),
        FLINK_LIB_DIR=str(flink_lib(settings)),
        FLINK_LOG_DIR=str(settings.state_dir / "flink" / "log"),
        FLINK_ENV_JAVA_OPTS_CLI=match.group(1) if match else "",
    )


def _error_summary(output: str) -> str:
    """The first exception line that says something: the Python job's own error or the
    planner's, not the wrappers every failure of `flink run -py` is reported through."""
    lines = [line.strip(" :\t") for line in output.splitlines() if line.strip()]
    for line in lines:
        generic = any(w in line for w in ("ProgramAbortException", "Py4JJavaError", "exits with"))
        if ("Exception: " in line or "Error: " in line) and not generic:
            return line[:500]
    return lines[-1][:500] if lines else "no output"


def _flink_run(
    settings: Settings, config: JobConfig, restore: str | None, deadline_s: float
) -> str:
    flink = pyflink_home() / "bin" / "flink"
    argv = [str(flink), "run", "--detached", *(["--fromSavepoint", restore] if restore else [])]
    argv += ["-pym", "streaming.flink.job"]
    argv += [CONFIG_FLAG, config.model_dump_json()]
    try:
        result = subprocess.run(
            argv,
            env=client_env(settings),
            capture_output=True,
            text=True,
            timeout=deadline_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"`flink run` did not return within {deadline_s:.0f}s") from None
    found = _JOB_ID.search(result.stdout)
    if result.returncode != 0 or not found:
        log = settings.state_dir / "flink" / "log"
        summary = _error_summary(result.stdout + "\n" + result.stderr)
        raise FlinkSubmitError(f"flink run failed ({result.returncode}): {summary} (logs: {log})")
    return found.group(1)


def _check_topics(settings: Settings, config: JobConfig) -> None:
    """A missing topic would only show up later as a job restarting in a loop on the cluster."""
    existing = admin_client(settings).list_topics(timeout=10).topics
    wanted = [config.source_topic] + ([] if config.blackhole else [config.features_topic])
    missing = [topic for topic in wanted if topic not in existing]
    if missing:
        raise FlinkSubmitError(
            f"topic(s) {', '.join(missing)} do not exist on {settings.kafka_bootstrap} "
            "(`make create-topic` creates the project's topics)"
        )


def submit(
    settings: Settings,
    config: JobConfig,
    replace: bool = False,
    restore: str | None = None,
    deadline_s: float = 300.0,
) -> Submission:
    """`restore` starts from a savepoint or retained checkpoint (path); `replace` stops the
    running copy with a savepoint and restores the new one from it, so windows open at that
    moment keep the events they already had (a cancel would lose them)."""
    rest = FlinkRest(settings.flink_rest_url)
    with _lock(settings.state_dir / "flink" / "submit.lock", deadline_s):
        running = rest.active_named(config.name)
        if running and not replace:
            return Submission(running[0].jid, config.name, already_running=True)
        _check_topics(settings, config)
        if not config.blackhole:
            ensure_sink_tables(settings, config)
        for job in running:
            restore = rest.stop_with_savepoint(job.jid, deadline_s=120)
            rest.wait_state(job.jid, {"FINISHED"}, deadline_s=120)
        jid = _flink_run(settings, config, restore, deadline_s)
        try:
            rest.wait_state(jid, {"RUNNING", "FINISHED"}, deadline_s=120)
        except FlinkRestError as exc:
            hint = (
                f" (restored from {restore}; a changed window cannot reuse it)" if restore else ""
            )
            raise FlinkSubmitError(f"{exc}{hint}") from None
    return Submission(jid, config.name, already_running=False)
