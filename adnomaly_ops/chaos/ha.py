"""The parts of the HA profile's faults that need more than a supervisor program name: which
Kafka node leads `clickstream`, whether every replica is back in sync, and a MinIO drive lost
and healed.

A lost drive is simulated as a drive replaced by a blank one: its directory is emptied (data
and MinIO's format file gone) while MinIO runs. The erasure-coded set keeps serving reads and
writes from the other three; MinIO finds the blank drive, formats it and heals the objects onto
it. The drive is back in service once it holds a format file again (MinIO noticed and took it
in) and MinIO's own metrics count all four drives of the set online with none healing.
"""

from __future__ import annotations

import logging
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from adnomaly_ops.stack.services import kafka_name, minio_drive_dirs
from streaming.kafka.config import base_config
from streaming.settings import Settings

# the drive chaos empties: not the first (MinIO reads its config from any drive; this keeps the
# fault independent of which one it prefers)
LOST_DRIVE = 3
# faults.CLIENT_LOG (by name: faults imports this module)
CLIENT_LOG = logging.getLogger("adnomaly.chaos.librdkafka")
_FORMAT = Path(".minio.sys") / "format.json"
_SET_GAUGE = re.compile(
    r"^minio_cluster_health_erasure_set_(online|healing)_drives\{[^}]*\} (\S+)$"
)


def _admin(settings: Settings) -> AdminClient:
    """An admin client whose librdkafka log goes to chaos's quiet logger: a killed node makes
    it report every refused connection, which is the fault working."""
    config: dict[str, Any] = {**base_config(settings, "adnomaly-chaos-admin")}
    config["logger"] = CLIENT_LOG
    return AdminClient(config)


def kafka_leader(settings: Settings, topic: str | None = None, partition: int = 0) -> str:
    """The supervisor program of the node leading `partition` of `topic` (clickstream)."""
    topic = topic or settings.topic
    meta = _admin(settings).list_topics(topic, timeout=10).topics[topic]
    leader = meta.partitions[partition].leader
    if leader < 0:
        raise RuntimeError(f"{topic}[{partition}] has no leader")
    return kafka_name(leader)


def replicas_in_sync(settings: Settings) -> bool:
    """Every partition of every topic has all its replicas in sync (a restarted node caught up
    and rejoined each ISR)."""
    meta = _admin(settings).list_topics(timeout=10)
    return all(
        len(p.isrs) == len(p.replicas) and p.leader >= 0
        for t in meta.topics.values()
        for p in t.partitions.values()
    )


def lost_drive(settings: Settings) -> Path:
    if not settings.ha:
        raise RuntimeError("a MinIO drive can be lost only in the HA profile (4 drives)")
    return minio_drive_dirs(settings)[LOST_DRIVE - 1]


def lose_drive(settings: Settings) -> Path:
    """Empty one of MinIO's four drives, as if it were swapped for a blank disk."""
    drive = lost_drive(settings)
    for child in drive.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    return drive


def set_drives(settings: Settings) -> dict[str, float]:
    """MinIO's count of the erasure set's drives `online` and `healing` (its cluster metrics)."""
    url = f"{settings.minio_url}/minio/v2/metrics/cluster"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the stack's MinIO)
        text = response.read().decode()
    found = (_SET_GAUGE.match(line) for line in text.splitlines())
    return {m[1]: float(m[2]) for m in found if m}


def drive_healed(settings: Settings) -> bool:
    """The blank drive is formatted into the set again, every drive online, none healing."""
    if not (lost_drive(settings) / _FORMAT).exists():
        return False
    drives = set_drives(settings)
    return drives.get("online") == len(minio_drive_dirs(settings)) and drives.get("healing") == 0
