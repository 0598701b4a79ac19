"""Sinks on the real servers: SIGKILLs, a PostgreSQL restart and poison records lose nothing and
store nothing twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from adnomaly_ops.stack.supervisor import Supervisor
from streaming.contract import parse_event
from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.generator import TrafficGenerator
from streaming.kafka.config import producer_config
from streaming.producer import ClickProducer
from streaming.s3 import s3_client
from streaming.settings import Settings
from tests.integration.helpers import read_all, unique_topic, wait_for

pytestmark = pytest.mark.integration


def _produce(settings: Settings, topic: str, n: int, seed: int) -> list[str]:
    gen = TrafficGenerator(seed, settings.hash_salt.get_secret_value(), fraud=False)
    end = datetime(2026, 2, 1, 6, tzinfo=UTC) + timedelta(days=seed)
    batch = gen.batch(n, end - timedelta(hours=3), end)  # spans hours: several lake prefixes
    producer = ClickProducer(settings, topic)
    producer.send_batch(batch)
    producer.flush(60)
    return batch.event_ids()


def _sink(kind: str, topic: str, group: str, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "adnomaly_cli", "sink", kind, "--topic", topic]
    argv += ["--group", group, "--instance-id", f"{group}-1", *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _produce_raw(stack: Settings, topic: str, values: list[bytes]) -> None:
    """Bytes as they are, past the producer's contract check (poison, hand-made variants)."""
    raw = Producer(producer_config(stack, "raw-test"))
    for value in values:
        raw.produce(topic, value, b"US|web")
    assert raw.flush(30) == 0


def _drain_db(topic: str, idle_s: str = "4") -> bytes:
    """Run the DB sink in a new group until the topic is idle; its stderr (stats lines)."""
    proc = _sink("db", topic, f"g-{uuid.uuid4().hex[:6]}", "--idle-exit", idle_s)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return err


def _db_counts(settings: Settings, ids: list[str]) -> tuple[int, int]:
    with connect(settings) as conn:
        migrate(conn)  # the tables exist even before a sink's first start
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM clickstream_events"
            " WHERE event_id = ANY(%s)",
            (ids,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _lake_lines(settings: Settings, prefix: str) -> list[bytes]:
    client = s3_client(settings)
    lines: list[bytes] = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.minio_bucket, Prefix=prefix + "/"
    ):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=settings.minio_bucket, Key=obj["Key"])["Body"].read()
            lines.extend(line for line in body.split(b"\n") if line)
    return lines


def _kill_and_restart(kind: str, topic: str, group: str, kills: int, *extra: str) -> None:
    """SIGKILL the sink at random moments, restarting it each time, then let it finish."""
    rng = random.Random(kills * 7919 + len(topic))
    for _ in range(kills):
        proc = _sink(kind, topic, group, *extra)
        time.sleep(rng.uniform(1.5, 4.0))  # the fault's random moment, not a wait for state
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    final = _sink(kind, topic, group, "--idle-exit", "6", *extra)
    _, err = final.communicate(timeout=180)
    assert final.returncode == 0, err.decode()[-2000:]


def test_db_sink_survives_sigkills_exactly_once(stack: Settings) -> None:
    topic = unique_topic(stack, "dbkill")
    ids = _produce(stack, topic, 60_000, seed=1)
    _kill_and_restart("db", topic, f"g-{uuid.uuid4().hex[:6]}", kills=4)
    assert _db_counts(stack, ids) == (len(ids), len(ids))


def test_lake_sink_survives_sigkills_exactly_once(stack: Settings) -> None:
    topic = unique_topic(stack, "lakekill")
    ids = _produce(stack, topic, 60_000, seed=2)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    args = ("--prefix", prefix, "--flush-seconds", "1")
    _kill_and_restart("lake", topic, f"g-{uuid.uuid4().hex[:6]}", 4, *args)
    stored = [orjson.loads(line)["event_id"] for line in _lake_lines(stack, prefix)]
    assert len(stored) == len(ids), f"{len(stored) - len(ids):+d} events vs produced"
    assert set(stored) == set(ids)


def test_db_sink_rides_out_a_postgres_restart(stack: Settings, tmp_path: Path) -> None:
    topic = unique_topic(stack, "pgrestart")
    ids = _produce(stack, topic, 40_000, seed=3)
    group = f"g-{uuid.uuid4().hex[:6]}"
    log = tmp_path / "sink.log"
    with log.open("wb") as sink_log:
        argv = [
            sys.executable,
            "-m",
            "adnomaly_cli",
            "sink",
            "db",
            "--topic",
            topic,
            "--group",
            group,
            "--idle-exit",
            "8",
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=sink_log)
        wait_for(lambda: _db_counts(stack, ids)[0] > 0, 60, "the sink's first batch")
        sup = Supervisor(stack)
        sup.stop("postgres")
        # the outage lasts until the sink has noticed it and is retrying
        wait_for(lambda: b"retrying" in log.read_bytes(), 60, "the sink retrying")
        sup.start("postgres")
        assert proc.wait(180) == 0, log.read_bytes().decode()[-2000:]
    assert _db_counts(stack, ids) == (len(ids), len(ids))


def test_poison_records_land_in_dlq_and_good_ones_are_stored(stack: Settings) -> None:
    topic = unique_topic(stack, "poison", partitions=2)
    good_ids = _produce(stack, topic, 5_000, seed=4)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    one = TrafficGenerator(9, "s", fraud=False).batch(1, start, start + timedelta(minutes=1))
    valid = orjson.loads(one.values()[0])
    poison = [
        b"not json at all",
        b"[1, 2, 3]",
        orjson.dumps({**valid, "CTR": 0.9}),
        orjson.dumps({**valid, "geo": "ZZ"}),
        orjson.dumps({k: v for k, v in valid.items() if k != "platform"}),
        b"{" + b'"x": "' + b"a" * 40_000 + b'"}',
    ]
    _produce_raw(stack, topic, poison)
    _drain_db(topic, idle_s="5")
    assert _db_counts(stack, good_ids) == (len(good_ids), len(good_ids))

    dlq = [
        m
        for m in read_all(stack, stack.dlq_topic, 10**9, deadline_s=5)
        if dict(m.headers() or []).get("source.topic") == topic.encode()
    ]
    assert sorted(m.value() for m in dlq) == sorted(poison)
    for msg in dlq:
        headers = dict(msg.headers() or [])
        assert headers["error"] and headers["source.offset"].isdigit()
    ctr = next(m for m in dlq if b'"CTR":0.9' in (m.value() or b""))
    assert b"CTR" in dict(ctr.headers() or [])["error"]


def test_db_sink_redelivery_stores_nothing_twice(stack: Settings) -> None:
    """A second consumer group re-reads every event: the fast COPY path hits the primary key,
    falls back to staging with ON CONFLICT, and stores nothing."""
    topic = unique_topic(stack, "redeliver")
    ids = _produce(stack, topic, 8_000, seed=5)
    for _ in range(2):
        err = _drain_db(topic)
    assert _db_counts(stack, ids) == (len(ids), len(ids))
    assert b'"duplicates": 8000' in err, err.decode()[-500:]


def test_db_sink_stores_exactly_what_the_contract_validated(stack: Settings) -> None:
    """Records only pydantic accepts (non-canonical timestamps, non-ASCII or escaped text) and
    records the columnar path accepts land in PostgreSQL with the very values the contract
    parsed."""
    topic = unique_topic(stack, "exact", partitions=2)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    base = orjson.loads(TrafficGenerator(13, "s", fraud=False).batch(1, start, start).values()[0])
    variants: list[dict[str, object]] = [
        {},
        {"timestamp": "2026-01-05T02:30:00.123456+02:00"},
        {"timestamp": "2026-01-05T00:00:00Z"},
        # COPY text escapes: backslash sequences that look like tab/newline/NULL must survive
        {"user_agent": 'quote " comma , backslash \\ literal \\t \\n \\N end'},
        {"user_agent": "ünïcödé 😀 " * 20},
        {"user_agent": "x" * 512},
        {"CPC": 1, "CTR": 0.05, "bounce_rate": 0.2, "conversion": 1},
        {"CPC": 0.1 + 0.2, "CTR": 0.005000000000000001, "bounce_rate": 0.8999999999999999},
    ]
    values = [
        orjson.dumps({**base, "event_id": f"{i:032x}", **change})
        for i, change in enumerate(variants * 50)
    ]
    _produce_raw(stack, topic, values)
    _drain_db(topic)
    with connect(stack) as conn:
        stored = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT event_id, timestamp, user_id_hash, ad_id, campaign_id, geo, platform,"
                " user_agent, cpc, ctr, conversion, bounce_rate FROM clickstream_events"
                " WHERE event_id = ANY(%s)",
                ([orjson.loads(v)["event_id"] for v in values],),
            )
        }
    assert len(stored) == len(values)
    for value in values:
        event = parse_event(value)
        assert stored[event.event_id] == (
            event.timestamp,
            event.user_id_hash,
            event.ad_id,
            event.campaign_id,
            event.geo,
            event.platform,
            event.user_agent,
            event.CPC,
            event.CTR,
            event.conversion,
            event.bounce_rate,
        )
