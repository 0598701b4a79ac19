"""The streaming pipeline brought up on a running stack for a bounded experiment (chaos, soak)
and put back as it was found afterwards.

`prepare` makes sure topics, schema, the Flink job, the Feast registry and a detector model
exist, pauses a supervised generator (the experiment must know every event), and starts the
sinks, the Feast ingestor and the detector; `undo` reverses exactly what `prepare` changed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from adnomaly_ops.chaos.faults import APP_SERVICES, flink_running, wait_until
from adnomaly_ops.stack.services import app_services, service_kind
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.kafka.config import base_config
from streaming.kafka.topics import ensure_topics
from streaming.settings import Settings


class PipelineError(RuntimeError):
    """The stack is not in a state the experiment can run against."""


@dataclass
class Restore:
    """What the experiment changed on the stack, undone at the end."""

    started: list[str] = field(default_factory=list)
    paused_generator: bool = False
    submitted_job: str | None = None


def prepare(settings: Settings, say: Callable[[str], None]) -> Restore:
    sup = Supervisor(settings)
    if not sup.running():
        raise PipelineError(
            f"the native stack is not running (no supervisor in {settings.state_dir}): `make up`"
        )
    ensure_topics(settings)
    with connect(settings) as conn:
        migrate(conn)
    restore = Restore()
    from streaming.features.store import apply_repo
    from streaming.flink.config import JobConfig
    from streaming.flink.submit import submit

    job = settings.flink_job_name
    result = submit(settings, JobConfig.for_stack(settings))
    if not result.already_running:
        restore.submitted_job = result.jid
    if wait_until(lambda: flink_running(settings), 120) is None:
        raise PipelineError(f"Flink job {job} has tasks that are not RUNNING after 120 s")
    say(f"Flink job {job}: {'running' if result.already_running else 'submitted'}")
    with contextlib.redirect_stdout(sys.stderr):  # Feast prints progress; stdout is for results
        apply_repo(settings)
    _ensure_model(settings, say)
    procs = sup.processes()
    if procs.get("generator", {}).get("statename") == "RUNNING":
        sup.stop("generator")  # the experiment must know every event it checks
        restore.paused_generator = True
        say("paused the supervised generator for the run")
    names = pipeline_services(settings)
    for name in names:
        if procs.get(name, {}).get("statename") != "RUNNING":
            sup.start(name)
            restore.started.append(name)
    if wait_until(lambda: all(_running(sup, n) for n in names), 60) is None:
        raise PipelineError(f"pipeline services not all RUNNING after 60 s: {names}")
    # a service is RUNNING before its consumer joined: load sent before that would count
    # the services' start-up (imports, group join) as pipeline latency
    if wait_until(lambda: _groups_assigned(settings), 120) is None:
        groups = sorted(service_groups(settings))
        raise PipelineError(f"consumer groups {groups} have no assigned member after 120 s")
    return restore


def pipeline_services(settings: Settings) -> list[str]:
    """The consuming services, each instance the profile runs (HA: `db-sink` and `db-sink-2`)."""
    return [s.name for s in app_services(settings) if service_kind(s.name) in APP_SERVICES]


def service_groups(settings: Settings) -> dict[str, str]:
    """The consumer groups of the supervised services (Flink's is the job's, not a member's)
    and the topic each reads."""
    groups = dict(settings.group_topics)
    del groups[settings.flink_group]
    return groups


def _groups_assigned(settings: Settings) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(base_config(settings, "adnomaly-pipeline-probe"))
    futures = admin.describe_consumer_groups(list(service_groups(settings)), request_timeout=10)
    for future in futures.values():
        members = future.result().members
        if not any(m.assignment and m.assignment.topic_partitions for m in members):
            return False
    return True


def _running(sup: Supervisor, name: str) -> bool:
    return sup.processes().get(name, {}).get("statename") == "RUNNING"


def _ensure_model(settings: Settings, say: Callable[[str], None]) -> None:
    """The detector waits for a model; with none stored, save a baseline trained on a generated
    clean day (a later `fraud_model` materialization supersedes it)."""
    from streaming.detection.store import load_latest_model, save_model
    from streaming.detection.train import train
    from streaming.features.reference import compute_features
    from streaming.generator import TrafficGenerator

    if load_latest_model(settings) is not None:
        return
    gen = TrafficGenerator(7, settings.hash_salt.get_secret_value(), fraud=False)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    frames = [b.to_frame() for b in gen.events_between(end - timedelta(days=1), end, 2.0)]
    import pandas as pd

    model = train(compute_features(pd.concat(frames, ignore_index=True)))
    save_model(model, settings)
    say(f"no detector model was stored: saved baseline {model.version} (a generated clean day)")


def undo(settings: Settings, restore: Restore, say: Callable[[str], None]) -> None:
    sup = Supervisor(settings)
    for name in restore.started:
        sup.stop(name)
    if restore.paused_generator:
        sup.start("generator")
        say("resumed the supervised generator")
    if restore.submitted_job:
        from streaming.flink.rest import FlinkRest

        FlinkRest(settings.flink_rest_url).cancel(restore.submitted_job)
