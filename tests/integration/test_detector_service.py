"""`adnomaly detect-stream` on the real servers: features in, anomaly_results and grouped alerts
out, bad records to the DLQ, offsets committed, incidents continued across a restart, and a new
model picked up from MinIO while running."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pandas as pd
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.detection.model import DetectorModel
from streaming.detection.store import save_model
from streaming.detection.train import train
from streaming.feature_contract import FeatureRow
from streaming.kafka.config import consumer_config, producer_config
from streaming.settings import Settings
from tests.integration.helpers import read_all, unique_topic, wait_for

pytestmark = pytest.mark.integration


def _history(geo: str, platform: str, days: int = 7) -> pd.DataFrame:
    """One segment's windows: ~30 clicks at noon (a day curve), noisy per-click averages."""
    rng = np.random.default_rng(0)
    ends = pd.date_range("2026-03-02T00:05Z", periods=days * 1440, freq="min")
    n = np.maximum(rng.poisson(30 * (1 + 0.5 * np.sin((ends.hour - 12) / 24 * 2 * np.pi))), 1)
    noise = rng.standard_normal((3, n.size)) / np.sqrt(n)
    return pd.DataFrame(
        {
            "geo": geo,
            "platform": platform,
            "window_start": ends - timedelta(minutes=5),
            "window_end": ends,
            "ctr_avg": 0.02 * np.exp(0.35 * noise[0]),
            "bounce_rate_avg": 0.5 + 0.1 * noise[1],
            "event_count": n,
            "cpc_avg": 0.4 * np.exp(0.3 * noise[2]),
            "conversion_rate": 1 / n,
            "unique_users": n,
            "events_per_user": 1.0,
            "suspicious_ua_share": 0.0,
        }
    )


def _model(segment: tuple[str, str], trained_at: datetime) -> DetectorModel:
    return train(_history(*segment), trained_at=trained_at)


def _row(segment: tuple[str, str], noon: datetime, minute: int, cpc: float = 0.4) -> bytes:
    end = noon + timedelta(minutes=minute)
    geo, platform = segment
    return FeatureRow(
        geo=geo,
        platform=platform,
        window_start=end - timedelta(minutes=5),
        window_end=end,
        ctr_avg=0.02,
        bounce_rate_avg=0.5,
        event_count=30,
        cpc_avg=cpc,
        conversion_rate=1 / 30,
        unique_users=30,
        events_per_user=1.0,
        suspicious_ua_share=0.0,
    ).to_json_bytes()


def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = Producer(producer_config(settings, "test-features"))
    for value in values:
        producer.produce(topic, value, b"segment")
    assert producer.flush(30) == 0


def _forget_segment(settings: Settings, segment: tuple[str, str]) -> None:
    """Earlier runs' incidents of this test's own segment would be resumed at start (that is
    the feature under test), so each run begins without them."""
    with connect(settings) as conn:
        migrate(conn)  # a fresh test stack has no tables until a service or sink starts
        conn.execute("DELETE FROM anomaly_results WHERE geo = %s AND platform = %s", segment)
        conn.commit()


def _detector(topic: str, alerts: str, prefix: str, group: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "adnomaly_cli",
        "detect-stream",
        "--topic",
        topic,
        "--anomalies-topic",
        alerts,
        "--model-prefix",
        prefix,
        "--group",
        group,
        "--instance-id",
        f"{group}-1",
        *extra,
    ]


def _run_until_idle(argv: list[str]) -> None:
    proc = subprocess.run(
        [*argv, "--idle-exit", "4", "--max-seconds", "120"],
        check=False,
        capture_output=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]


def _results(settings: Settings, version: str) -> pd.DataFrame:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT window_end, score, is_anomaly, drivers, reason, incident_key, driver_feature,"
            " driver_view FROM anomaly_results WHERE model_version = %s ORDER BY window_end",
            (version,),
        ).fetchall()
    columns = ["window_end", "score", "is_anomaly", "drivers", "reason", "incident_key"]
    columns += ["driver_feature", "driver_view"]
    return pd.DataFrame(rows, columns=columns)


def _alerts(settings: Settings, topic: str, expected: int) -> list[dict]:
    return [orjson.loads(m.value()) for m in read_all(settings, topic, expected, deadline_s=30)]


def _committed_everything(settings: Settings, topic: str, group: str) -> bool:
    consumer = Consumer(consumer_config(settings, "test-offsets", group))
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in parts]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in parts}
    finally:
        consumer.close()
    return all(committed[p] == ends[p] for p in parts if ends[p] > 0)


def test_scores_groups_and_continues_an_incident_after_a_restart(stack: Settings) -> None:
    segment = ("LU", "ios")
    _forget_segment(stack, segment)
    topic = unique_topic(stack, "features", partitions=3)
    alerts = unique_topic(stack, "anomalies", partitions=1)
    prefix, group = f"test-models/{uuid.uuid4().hex}/", f"det-{uuid.uuid4().hex[:8]}"
    model = _model(segment, datetime.now(UTC))
    save_model(model, stack, prefix=prefix)
    noon = datetime(2031, 1, 6, 12, tzinfo=UTC)
    values = [_row(segment, noon, m, cpc=1.2 if 10 <= m <= 12 else 0.4) for m in range(13)]
    _produce(stack, topic, [*values, b'{"geo": "LU", "not": "a feature row"}'])
    argv = _detector(topic, alerts, prefix, group)
    _run_until_idle(argv)

    first = _results(stack, model.version)
    assert len(first) == 13
    flagged = first[first["is_anomaly"]]
    assert [t.minute for t in flagged["window_end"]] == [10, 11, 12]
    key = f"LU|ios|{noon + timedelta(minutes=10):%Y-%m-%dT%H:%M}Z"
    assert set(flagged["incident_key"]) == {key} and first["incident_key"].notna().sum() == 3
    assert all("cpc_avg" in d for d in flagged["drivers"]) and flagged["score"].min() >= 0.5
    assert all(r.startswith("cpc_avg") for r in flagged["reason"])
    ours = [a for a in _alerts(stack, alerts, 1) if a["incident_key"] == key]
    assert [a["status"] for a in ours] == ["open"]
    # the alert says which view of which feature drove it, with the calibrated score
    assert ours[0]["drivers"]["cpc_avg"]["view"] == "seasonal" and ours[0]["peak_score"] >= 0.5
    assert (ours[0]["feature"], ours[0]["view"]) == ("cpc_avg", "seasonal")
    assert ours[0]["drivers"]["cpc_avg"]["surprise"] > 6  # -log10 p, the core's scale
    assert set(zip(flagged["driver_feature"], flagged["driver_view"], strict=True)) == {
        ("cpc_avg", "seasonal")
    }
    assert _committed_everything(stack, topic, group)
    dlq = [
        m
        for m in read_all(stack, stack.dlq_topic, 10**9, deadline_s=5)
        if dict(m.headers() or []).get("source.topic") == topic.encode()
    ]
    assert len(dlq) == 1 and b"invalid feature row" in dict(dlq[0].headers() or [])["error"]

    later = [_row(segment, noon, m, cpc=1.2 if m <= 14 else 0.4) for m in range(13, 30)]
    _produce(stack, topic, later)
    _run_until_idle(argv)  # a new process: the open incident is read back from PostgreSQL
    both = _results(stack, model.version)
    assert len(both) == 30
    assert set(both[both["is_anomaly"]]["incident_key"]) == {key}
    ours = [a for a in _alerts(stack, alerts, 2) if a["incident_key"] == key]
    assert [a["status"] for a in ours] == ["open", "resolved"]
    assert ours[1]["windows"] == 5 and ours[1]["reason"].startswith("cpc_avg")
    assert (ours[1]["feature"], ours[1]["view"]) == ("cpc_avg", "seasonal")  # read back at restart


def test_a_new_model_is_picked_up_without_a_restart(stack: Settings) -> None:
    segment = ("MT", "android")
    topic = unique_topic(stack, "features", partitions=1)
    alerts = unique_topic(stack, "anomalies", partitions=1)
    prefix, group = f"test-models/{uuid.uuid4().hex}/", f"det-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    first, second = _model(segment, now), _model(segment, now + timedelta(minutes=1))
    assert first.version < second.version
    save_model(first, stack, prefix=prefix)
    noon = datetime(2031, 1, 7, 12, tzinfo=UTC)
    argv = _detector(topic, alerts, prefix, group, "--reload-seconds", "1")
    proc = subprocess.Popen(
        [*argv, "--max-seconds", "150"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _produce(stack, topic, [_row(segment, noon, 0)])
        wait_for(lambda: len(_results(stack, first.version)) == 1, 60, "a row scored by v1")
        save_model(second, stack, prefix=prefix)
        minute = iter(range(1, 10_000))

        def scored_by_second() -> bool:
            _produce(stack, topic, [_row(segment, noon, next(minute))])
            return len(_results(stack, second.version)) > 0

        wait_for(scored_by_second, 60, "rows scored by the new model", interval_s=0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert f"-> champion {second.version}".encode() in err  # the watcher's log of the switch
