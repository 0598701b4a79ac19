"""The ingestor on the real Kafka and Redis: online values equal the newest window per entity,
bad records go to the DLQ, a Redis restart loses nothing, and the 3-day TTL holds online."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from feast.data_source import PushMode
from redis.exceptions import RedisError

from adnomaly_ops.stack.supervisor import Supervisor
from streaming.feature_contract import FEATURE_NAMES, FeatureRow
from streaming.features.retrieval import online_features
from streaming.features.rows import push_frame
from streaming.features.store import PUSH_SOURCE
from streaming.kafka.config import consumer_config, producer_config
from streaming.settings import Settings
from tests.integration.helpers import unique_topic, wait_for
from tests.integration.test_feast_repo import AppliedRepo, feast, feature_row, minute, run_cli

pytestmark = pytest.mark.integration
__all__ = ["feast"]  # the module-scoped fixture this module uses


def _produce(settings: Settings, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(producer_config(settings, "test-feast"))
    for key, value in values:
        producer.produce(topic, value, key)
    assert producer.flush(60) == 0


def _rows(entities: list[tuple[str, str]], windows: int, seed: int) -> list[FeatureRow]:
    """`windows` sliding windows per entity ending in the last minutes, in shuffled order."""
    now = minute(datetime.now(UTC))
    rows = [
        feature_row(g, p, now - timedelta(minutes=k), seed)
        for g, p in entities
        for k in range(windows)
    ]
    random.Random(seed).shuffle(rows)
    return rows


def _matches(feast: AppliedRepo, expected: list[FeatureRow]) -> bool:
    entity_rows = [{"geo": r.geo, "platform": r.platform} for r in expected]
    got = online_features(feast.store, entity_rows)
    for row, want in zip(got, expected, strict=True):
        if row["event_timestamp"] != want.window_end:
            return False
        for name in FEATURE_NAMES:
            cast = int if name in ("event_count", "unique_users") else np.float32
            assert row[name] == cast(getattr(want, name)), (want.geo, want.platform, name)
    return True


def _served(feast: AppliedRepo, expected: list[FeatureRow]) -> bool:
    """`_matches` for polling: Redis restarting or still loading its AOF is "not yet"."""
    try:
        return _matches(feast, expected)
    except RedisError:
        return False


def _latest(rows: list[FeatureRow]) -> list[FeatureRow]:
    best: dict[tuple[str, str], FeatureRow] = {}
    for r in rows:
        if (r.geo, r.platform) not in best or r.window_end > best[(r.geo, r.platform)].window_end:
            best[(r.geo, r.platform)] = r
    return sorted(best.values(), key=lambda r: (r.geo, r.platform))


def _ingestor(
    feast: AppliedRepo, topic: str, group: str, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "adnomaly_cli", "features", "ingest", "--topic", topic]
    argv += ["--group", group, "--repo", str(feast.paths.repo), *extra]
    with log.open("wb") as err:  # the child keeps its own descriptor
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)


def _committed_all(settings: Settings, topic: str, group: str, partitions: int) -> bool:
    consumer = Consumer(consumer_config(settings, "test-offsets", group))
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        highs = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1]
            for p in range(partitions)
        ]
    finally:
        consumer.close()
    return [tp.offset if tp.offset >= 0 else 0 for tp in tps] == highs


def _dlq_for(settings: Settings, source_topic: str, expected: int) -> list[dict[str, bytes]]:
    consumer = Consumer(consumer_config(settings, "test-dlq", f"dlq-{uuid.uuid4().hex}"))
    consumer.subscribe([settings.dlq_topic])
    found: list[dict[str, bytes]] = []
    end = time.monotonic() + 60
    try:
        while len(found) < expected and time.monotonic() < end:
            for msg in consumer.consume(1000, 0.5):
                headers = dict(msg.headers() or []) if msg.error() is None else {}
                if headers.get("source.topic") == source_topic.encode():
                    found.append({**headers, "value": msg.value() or b""})
    finally:
        consumer.close()
    return found


def test_ingest_serves_the_newest_window_per_entity_and_dead_letters_bad_records(
    feast: AppliedRepo, stack: Settings, tmp_path: Path
) -> None:
    topic = unique_topic(stack, "feast", partitions=3)
    entities = [("US", "ios"), ("US", "web"), ("DE", "android"), ("FR", "ios"), ("JP", "web")]
    rows = _rows(entities, windows=20, seed=1)
    good = feature_row("US", "ios", minute(datetime.now(UTC))).to_json_bytes()
    bad = [b"not json", b'{"geo": "US"}', good.replace(b'"US"', b'"XX"')]
    values = [(r.key, r.to_json_bytes()) for r in rows[:50]] + [(b"bad", v) for v in bad]
    _produce(stack, topic, values + [(r.key, r.to_json_bytes()) for r in rows[50:]])
    group = f"g-{uuid.uuid4().hex[:6]}"
    proc = _ingestor(feast, topic, group, tmp_path / "ingest.log", "--idle-exit", "4")
    assert proc.wait(180) == 0, (tmp_path / "ingest.log").read_text()[-3000:]
    assert _matches(feast, _latest(rows))
    assert _committed_all(stack, topic, group, 3)
    dead = _dlq_for(stack, topic, len(bad))
    assert sorted(d["value"] for d in dead) == sorted(bad)
    assert all(d["error"].startswith(b"not a FeatureRow") for d in dead)
    assert any(d["fields"] == b"geo" for d in dead)


def test_ingestor_rides_out_a_redis_restart(
    feast: AppliedRepo, stack: Settings, tmp_path: Path
) -> None:
    topic = unique_topic(stack, "feastredis", partitions=3)
    entities = [("IT", "ios"), ("ES", "web"), ("NL", "android")]
    before = _rows(entities, windows=5, seed=2)
    log = tmp_path / "ingest.log"
    proc = _ingestor(feast, topic, f"g-{uuid.uuid4().hex[:6]}", log)
    sup = Supervisor(stack)
    try:
        _produce(stack, topic, [(r.key, r.to_json_bytes()) for r in before])
        wait_for(lambda: _matches(feast, _latest(before)), 120, "the first rows online")
        sup.stop("redis")
        after = [
            feature_row(r.geo, r.platform, r.window_end + timedelta(minutes=10), 3) for r in before
        ]
        _produce(stack, topic, [(r.key, r.to_json_bytes()) for r in after])
        wait_for(lambda: b"retrying" in log.read_bytes(), 60, "the ingestor to hit the outage")
        sup.start("redis")
        wait_for(lambda: _served(feast, _latest(after)), 120, "the rows written during the outage")
    finally:
        sup.start("redis")  # idempotent when it is already running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    assert "Redis at" in log.read_text()


def test_online_values_older_than_the_ttl_are_not_served(feast: AppliedRepo) -> None:
    now = minute(datetime.now(UTC))
    stale = feature_row("PL", "web", now - timedelta(days=3, minutes=10))
    fresh = feature_row("PL", "ios", now - timedelta(days=3) + timedelta(minutes=10))
    feast.store.push(PUSH_SOURCE, push_frame([stale, fresh]), to=PushMode.ONLINE)
    got = online_features(
        feast.store, [{"geo": "PL", "platform": "web"}, {"geo": "PL", "platform": "ios"}]
    )
    assert got[0]["event_timestamp"] is None and got[0]["ctr_avg"] is None
    assert got[1]["event_timestamp"] == fresh.window_end
    assert got[1]["ctr_avg"] == np.float32(fresh.ctr_avg)
    # the same request 20 minutes later: the fresh row has aged past the TTL too
    later = online_features(
        feast.store, [{"geo": "PL", "platform": "ios"}], now=now + timedelta(minutes=20)
    )
    assert later[0]["ctr_avg"] is None


def test_feast_test_prints_fresh_values(feast: AppliedRepo) -> None:
    row = feature_row("US", "android", minute(datetime.now(UTC)) - timedelta(minutes=1))
    feast.store.push(PUSH_SOURCE, push_frame([row]), to=PushMode.ONLINE)
    repo = str(feast.paths.repo)
    done = run_cli("features", "test", "--repo", repo, "--geo", "US", "--platform", "android")
    assert "traffic_5m_by_geo_platform:event_count" in done.stdout
    assert f"{row.event_count}" in done.stdout
