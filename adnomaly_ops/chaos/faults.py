"""The faults chaos injects, each on a program of the stack's supervisor, and how to tell that
the program is back: a SIGKILLed service must come back with a new pid (the supervisor restarts
it), a restarted server must answer its health probe again.

The HA profile adds the faults it must absorb without an outage (`HA_FAULTS`): a SIGKILL of the
Kafka node leading `clickstream` (back: every replica in sync again), of the second
TaskManager, the loss of a MinIO drive (back: formatted and healed), and two faults at once. On
that profile the instance faults (`sigkill db-sink`, ...) kill one of the two instances."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import KafkaException

from adnomaly_ops.chaos import ha
from adnomaly_ops.stack.health import probe
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.flink.rest import FlinkRest
from streaming.settings import Settings

log = logging.getLogger("adnomaly.chaos")

# The chaos run's own Kafka clients log here instead of stderr: restarting the broker makes
# librdkafka report every refused connection, which is the fault working, not news. Whether
# anything was lost is what the checks count. `logging.getLogger(CLIENT_LOG.name).setLevel`
# to see them.
CLIENT_LOG: Final = logging.getLogger("adnomaly.chaos.librdkafka")
CLIENT_LOG.setLevel(logging.CRITICAL)
APP_SERVICES: Final = ("db-sink", "lake-sink", "feast-ingestor", "detector")
PROBE_KIND: Final = {
    "kafka": "kafka",
    "postgres": "postgres",
    "minio": "minio",
    "redis": "redis",
    "flink-taskmanager": "flink-taskmanager",
}


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # "sigkill" | "restart" | "poison" | "drive" | "pair"
    # the supervisor program; "kafka-leader" for the node leading clickstream[0]; "poison" for
    # the burst; for a pair, the two faults' targets joined by "+"
    target: str
    ha: bool = False  # the HA profile's: absorbed without an outage


FAULTS: Final[tuple[Fault, ...]] = (
    Fault("sigkill db-sink", "sigkill", "db-sink"),
    Fault("sigkill lake-sink", "sigkill", "lake-sink"),
    Fault("sigkill feast-ingestor", "sigkill", "feast-ingestor"),
    Fault("sigkill detector", "sigkill", "detector"),
    Fault("restart kafka", "restart", "kafka"),
    Fault("restart postgres", "restart", "postgres"),
    Fault("restart minio", "restart", "minio"),
    Fault("restart redis", "restart", "redis"),
    Fault("sigkill flink-taskmanager", "sigkill", "flink-taskmanager"),
    Fault("poison burst", "poison", "poison"),
)


HA_FAULTS: Final[tuple[Fault, ...]] = (
    Fault("sigkill kafka leader", "sigkill", "kafka-leader", ha=True),
    Fault("sigkill flink-taskmanager-2", "sigkill", "flink-taskmanager-2", ha=True),
    Fault("lose minio drive", "drive", "minio-drive", ha=True),
    Fault("sigkill kafka leader + db-sink", "pair", "kafka-leader+db-sink", ha=True),
)


def faults_for(settings: Settings) -> tuple[Fault, ...]:
    """Every fault of the profile: the default ones, and on the HA profile its own too."""
    return FAULTS + HA_FAULTS if settings.ha else FAULTS


def by_names(settings: Settings, names: str | None) -> list[Fault]:
    """Faults by their target (e.g. `db-sink,kafka,poison`); all of the profile's when None."""
    every = faults_for(settings)
    if not names:
        return list(every)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {f.target: f for f in every}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in wanted]


def _pid(sup: Supervisor, name: str) -> int | None:
    info = sup.processes().get(name)
    return int(info["pid"]) if info and info["statename"] == "RUNNING" and info["pid"] else None


def inject(settings: Settings, fault: Fault) -> Callable[[], bool]:
    """Inflict `fault`; returns a check that is true once the target is back and healthy."""
    sup = Supervisor(settings)
    if fault.kind == "pair":
        first, second = (
            _single(settings, f"{fault.name} ({t})", t) for t in fault.target.split("+")
        )
        backs = [inject(settings, first), inject(settings, second)]
        return lambda: all(back() for back in backs)
    if fault.kind == "drive":
        ha.lose_drive(settings)
        return lambda: ha.drive_healed(settings)
    if fault.kind == "sigkill":
        target = ha.kafka_leader(settings) if fault.target == "kafka-leader" else fault.target
        old = _pid(sup, target)
        if old is None:
            raise RuntimeError(f"{target} is not running; nothing to kill")
        os.kill(old, signal.SIGKILL)
        log.info("%s: SIGKILL to %s (pid %d)", fault.name, target, old)
        if target.startswith("flink-taskmanager"):
            return lambda: _pid(sup, target) not in (None, old) and flink_running(settings)
        if target.startswith("kafka") and settings.ha:
            return lambda: _pid(sup, target) not in (None, old) and ha.replicas_in_sync(settings)
        return lambda: _pid(sup, target) not in (None, old)
    if fault.kind == "restart":
        sup.stop(fault.target)  # graceful: waits for the program to exit
        sup.start(fault.target)
        kind = PROBE_KIND[fault.target]
        return lambda: _pid(sup, fault.target) is not None and probe(kind, settings)[0]
    raise ValueError(f"{fault.kind} is not a process fault")


def absorbed(settings: Settings, fault: Fault) -> bool:
    """Whether the profile must absorb `fault` without an outage: on the HA profile, losing one
    Kafka node, one TaskManager, one instance of a service or one MinIO drive (the servers that
    run once there, PostgreSQL and Redis, and the poison burst are not outages it avoids)."""
    return settings.ha and (fault.kind in ("sigkill", "drive", "pair") or fault.target == "kafka")


def _single(settings: Settings, name: str, target: str) -> Fault:
    """One fault of a pair: a SIGKILL of `target` (a program, or `kafka-leader`)."""
    return Fault(name, "sigkill", target, ha=True)


def flink_running(settings: Settings) -> bool:
    """The features job has every task RUNNING again on the new TaskManager."""
    rest = FlinkRest(settings.flink_rest_url)
    try:
        jobs = rest.active_named(settings.flink_job_name)
        if not jobs:
            return False
        vertices = rest.job(jobs[0].jid)["vertices"]
        return all(v["status"] == "RUNNING" for v in vertices)
    except (OSError, RuntimeError, KeyError):
        return False


# what a check may meet while a server is still coming back: it is asked again
TRANSIENT: Final = (
    OSError,
    RuntimeError,
    KafkaException,
    BotoCoreError,
    ClientError,
    psycopg.Error,
)


# set on SIGINT/SIGTERM: every wait ends at once (a client library may swallow the
# KeyboardInterrupt, e.g. turning it into a cancelled query that looks transient)
INTERRUPTED = threading.Event()


def wait_until(check: Callable[[], bool], deadline_s: float) -> float | None:
    """Seconds until `check` held, or None when the deadline passed first."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s and not INTERRUPTED.is_set():
        try:
            if check():
                return time.monotonic() - start
        except TRANSIENT as exc:
            log.debug("not yet: %s", exc)
        time.sleep(0.5)  # polling cadence
    return None
