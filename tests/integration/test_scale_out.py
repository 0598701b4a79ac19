"""Scaling out (README, "Scaling out"): a second DB sink instance joins its group while events
flow; the group splits the topic's partitions between the two members, and PostgreSQL ends up
with every produced event exactly once.

Runs on either profile (ADNOMALY_PROFILE): the instances are `adnomaly sink db` processes, as a
user would start them, on a scratch topic of 6 partitions.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConsumerGroupDescription

from streaming.db.connect import connect
from streaming.kafka.config import base_config
from streaming.settings import Settings
from tests.integration.flow import Flow
from tests.integration.helpers import unique_topic, wait_for

pytestmark = pytest.mark.integration

PARTITIONS = 6


def _sink(topic: str, group: str, instance: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "adnomaly_cli", "sink", "db", "--topic", topic]
    argv += ["--group", group, "--instance-id", instance]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _group(settings: Settings, group: str) -> ConsumerGroupDescription:
    admin = AdminClient(base_config(settings, "test-scale-out"))
    return admin.describe_consumer_groups([group])[group].result(timeout=10)


def _assignment(settings: Settings, group: str, topic: str) -> dict[str, set[int]]:
    """Each stable member's partitions of `topic`, by its static instance id."""
    desc = _group(settings, group)
    if desc.state.name != "STABLE":
        return {}
    return {
        str(m.group_instance_id): {
            tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic
        }
        for m in desc.members
    }


def _members(settings: Settings, group: str, topic: str, count: int) -> dict[str, set[int]]:
    """The assignment once the group is stable with `count` members, else nothing."""
    assignment = _assignment(settings, group, topic)
    return assignment if len(assignment) == count else {}


def _stored(settings: Settings, ids: list[str]) -> tuple[int, int]:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM clickstream_events"
            " WHERE event_id = ANY(%s)",
            (ids,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_second_db_sink_takes_half_the_partitions_and_nothing_is_lost(stack: Settings) -> None:
    topic = unique_topic(stack, "scaleout", partitions=PARTITIONS)
    group = f"g-scale-{uuid.uuid4().hex[:6]}"
    first = _sink(topic, group, f"{group}-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        with Flow(stack, topic) as flow:
            alone = wait_for(
                lambda: _stored(stack, flow.ids[:500])[1] > 0 and _members(stack, group, topic, 1),
                120,
                "the first instance to own the topic and store events",
            )
            assert alone == {f"{group}-1": set(range(PARTITIONS))}

            second = _sink(topic, group, f"{group}-2")
            split = wait_for(
                lambda: _members(stack, group, topic, 2), 120, "the group to rebalance over two"
            )
            one, two = split[f"{group}-1"], split[f"{group}-2"]
            assert one and two, f"a member owns nothing: {split}"
            assert not one & two, f"a partition owned twice: {split}"
            assert one | two == set(range(PARTITIONS)), f"a partition unowned: {split}"

            # both keep storing while the flow goes on: events produced after the split
            mark = len(flow.ids)
            wait_for(lambda: len(flow.ids) > mark + 2000, 60, "2,000 events after the split")
        assert flow.error is None, f"producer failed: {flow.error!r}"
        assert flow.produce_errors == 0
        ids = list(flow.ids)
        assert len(ids) > 3000
        wait_for(lambda: _stored(stack, ids)[1] == len(ids), 120, "every event in PostgreSQL")
        running = [first, second]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()[-2000:]
        rows, distinct = _stored(stack, ids)
        assert (rows, distinct) == (len(ids), len(ids)), "events lost or stored twice"
    finally:
        for leftover in (first, second):
            if leftover is not None and leftover.poll() is None:
                leftover.kill()
                leftover.wait(10)
