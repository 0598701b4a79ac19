"""The HA profile's Kafka (README, "High availability"): three nodes in one quorum, topics with
3 replicas and min.insync.replicas 2, and a SIGKILL of the node leading a partition absorbed
without a produce error or a lost event; the supervisor brings the node back into every ISR.

Runs only on the HA profile: `ADNOMALY_PROFILE=ha ADNOMALY_TEST_SLOT=N uv run pytest
tests/integration/test_ha_kafka.py`.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import orjson
import pytest
from confluent_kafka.admin import ConfigResource

from adnomaly_ops.stack import native
from adnomaly_ops.stack.services import kafka_name
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.kafka.topics import DAY_MS, TopicSpec, admin_client, ensure_topics, topic_specs
from streaming.settings import Settings
from tests.integration.flow import Flow
from tests.integration.helpers import read_all, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("ADNOMALY_PROFILE") != "ha", reason="the HA profile only (ADNOMALY_PROFILE)"
    ),
]


def _partitions(settings: Settings, topic: str) -> dict[int, tuple[int, list[int]]]:
    """partition -> (leader node, in-sync replicas)."""
    meta = admin_client(settings).list_topics(topic, timeout=10).topics[topic]
    return {p.id: (p.leader, sorted(p.isrs)) for p in meta.partitions.values()}


def test_every_node_and_instance_is_in_status_and_topics_have_three_replicas(
    stack: Settings,
) -> None:
    rows = {row.name: row for row in native.status(stack)}
    for name in ("kafka", "kafka-2", "kafka-3", "flink-taskmanager", "flink-taskmanager-2"):
        assert rows[name].healthy, f"{name}: {rows[name].detail}"
    for name in ("db-sink-2", "lake-sink-2", "feast-ingestor-2", "detector-2"):
        assert name in rows
    assert "3 broker(s)" in rows["kafka-3"].detail
    admin = admin_client(stack)
    meta = admin.list_topics(timeout=10).topics
    for spec in topic_specs(stack):
        replicas = {len(p.replicas) for p in meta[spec.name].partitions.values()}
        assert replicas == {3}, f"{spec.name}: replicas {replicas}"
        config = admin.describe_configs([ConfigResource("topic", spec.name)])
        entries = next(iter(config.values())).result(timeout=10)
        assert entries["min.insync.replicas"].value == "2", spec.name


def test_sigkill_of_the_leading_node_loses_nothing_and_it_rejoins(stack: Settings) -> None:
    topic = f"test.ha-kill.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(topic, 6, DAY_MS, "test", replication_factor=3, min_insync_replicas=2)
    ensure_topics(stack, [spec])
    wait_for(
        lambda: all(len(isr) == 3 for _, isr in _partitions(stack, topic).values()),
        60,
        "every replica in sync",
    )
    victim = _partitions(stack, topic)[0][0]  # the leader of partition 0
    name = kafka_name(victim)
    sup = Supervisor(stack)
    pid = int(sup.processes()[name]["pid"])
    with Flow(stack, topic) as flow:
        wait_for(lambda: len(flow.ids) >= 2000, 60, "2,000 events produced before the kill")
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: all(leader != victim for leader, _ in _partitions(stack, topic).values()),
            60,
            f"new leaders for node {victim}'s partitions",
        )
        mark = len(flow.ids)
        wait_for(lambda: len(flow.ids) > mark + 2000, 60, "2,000 events produced with a node down")
        back = wait_for(
            lambda: (
                all(len(isr) == 3 for _, isr in _partitions(stack, topic).values())
                and time.monotonic() - killed_at
            ),
            180,
            f"node {victim} back in every ISR",
        )
    assert flow.error is None, f"producer failed: {flow.error!r}"
    assert flow.produce_errors == 0
    assert int(sup.processes()[name]["pid"]) != pid, "the supervisor did not restart the node"
    messages = read_all(stack, topic, len(flow.ids), deadline_s=120)
    ids = [orjson.loads(m.value() or b"{}")["event_id"] for m in messages]
    assert len(ids) == len(flow.ids) and set(ids) == set(flow.ids), "events lost or duplicated"
    print(f"node {victim} killed: back in every ISR after {back:.1f} s, {len(ids)} events")
