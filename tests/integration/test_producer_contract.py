"""What the producer sends is exactly what a consumer reads back from the real broker."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from streaming.contract import SCHEMA_PATH, ContractError, parse_event
from streaming.generator import TrafficGenerator
from streaming.producer import ClickProducer
from streaming.settings import Settings
from tests.integration.helpers import read_all, unique_topic

pytestmark = pytest.mark.integration


def test_read_back_equals_produced(stack: Settings) -> None:
    topic = unique_topic(stack, "contract")
    gen = TrafficGenerator(11, stack.hash_salt.get_secret_value(), incidents_per_day=48)
    end = datetime(2026, 3, 2, 12, tzinfo=UTC)
    batch = gen.batch(20_000, end - timedelta(hours=2), end)
    sent = batch.pairs()
    producer = ClickProducer(stack, topic)
    producer.send_batch(batch)
    stats = producer.flush(60)
    assert stats.acked >= len(sent) and stats.failed == 0

    got = read_all(stack, topic, len(sent))
    assert len(got) == len(sent)
    assert sorted((m.key(), m.value()) for m in got) == sorted(sent)

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    per_key: dict[bytes, list[tuple[int, int, datetime]]] = defaultdict(list)
    for msg in got:
        value = msg.value() or b""
        validator.validate(json.loads(value))
        event = parse_event(value)
        assert msg.key() == f"{event.geo}|{event.platform}".encode()
        per_key[msg.key() or b""].append((msg.partition() or 0, msg.offset() or 0, event.timestamp))
    for key, records in per_key.items():
        assert len({p for p, _, _ in records}) == 1, f"{key!r} spread over partitions"
        by_offset = [ts for _, _, ts in sorted(records)]
        assert by_offset == sorted(by_offset), f"{key!r} out of order"


def test_labels_go_to_topic_and_table_not_events(stack: Settings) -> None:
    topic = unique_topic(stack, "labels")
    gen = TrafficGenerator(5, stack.hash_salt.get_secret_value(), incidents_per_day=48)
    end = datetime(2026, 3, 3, tzinfo=UTC)
    producer = ClickProducer(stack, topic)
    for batch in gen.events_between(end - timedelta(hours=12), end, base_rate_eps=5):
        producer.send_batch(batch)
    producer.flush(60)
    incidents = gen.incidents_between(end - timedelta(hours=12), end)
    assert incidents and producer.stats.labels == len(incidents)

    from streaming.db.connect import connect

    ids = [i.id for i in incidents]
    with connect(stack) as conn:
        rows = conn.execute(
            "SELECT incident_id, scenario, geo, platform FROM fraud_labels"
            " WHERE incident_id = ANY(%s)",
            (ids,),
        ).fetchall()
    assert {r[0] for r in rows} == set(ids)
    for msg in read_all(stack, topic, producer.stats.produced - len(ids), deadline_s=30):
        assert b"incident" not in (msg.value() or b"")


def test_pipelined_batches_arrive_whole_and_a_bad_one_stops_before_its_first_byte(
    stack: Settings,
) -> None:
    """send_batches checks each batch against the contract before a byte of it is sent:
    batches before a bad one arrive whole, nothing after it."""
    topic = unique_topic(stack, "pipelined")
    gen = TrafficGenerator(12, stack.hash_salt.get_secret_value(), incidents_per_day=48)
    end = datetime(2026, 3, 4, tzinfo=UTC)
    batches = [
        gen.batch(3_000, end - timedelta(hours=h + 1), end - timedelta(hours=h)) for h in range(4)
    ]
    good = [pair for batch in batches[:2] for pair in batch.pairs()]
    cpc = batches[2].cpc.copy()
    cpc[1234] = 9.5  # outside the contract's range
    broken = replace(batches[2], cpc=cpc)
    producer = ClickProducer(stack, topic)
    with pytest.raises(ContractError, match="record 1234: CPC"):
        producer.send_batches([batches[0], batches[1], broken, batches[3]])
    producer.flush(60)
    got = read_all(stack, topic, len(good), deadline_s=30)
    assert sorted((m.key(), m.value()) for m in got) == sorted(good)

    again = unique_topic(stack, "pipelined-ok")
    producer = ClickProducer(stack, again)
    assert producer.send_batches(iter(batches)) == sum(len(b) for b in batches)
    stats = producer.flush(60)
    assert stats.failed == 0 and stats.labels == len({i.id for b in batches for i in b.incidents})
    expected = sorted(pair for batch in batches for pair in batch.pairs())
    assert sorted((m.key(), m.value()) for m in read_all(stack, again, len(expected))) == expected
