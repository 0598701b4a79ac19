"""Dagster assets materialized against the real stack, and sensors evaluated on real lag."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from confluent_kafka import Producer

from adnomaly_dagster.definitions import RESOURCES, defs
from adnomaly_dagster.resources import StreamHealthThresholds
from adnomaly_dagster.sensors import partitions_when_complete, stream_health
from streaming.generator import TrafficGenerator
from streaming.kafka.config import producer_config
from streaming.producer import ClickProducer
from streaming.s3 import s3_client
from streaming.settings import Settings
from tests.integration.helpers import unique_topic

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 4, 10, 14, tzinfo=UTC)
EVENTS = 3_000


def _sink(kind: str, topic: str, *extra: str) -> None:
    argv = [
        sys.executable,
        "-m",
        "adnomaly_cli",
        "sink",
        kind,
        "--topic",
        topic,
        "--group",
        f"g-{uuid.uuid4().hex[:6]}",
        "--idle-exit",
        "3",
        *extra,
    ]
    proc = subprocess.run(argv, capture_output=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]


@pytest.fixture(scope="module")
def one_hour_stored(stack: Settings) -> int:
    """EVENTS events of one hour, stored by both sinks like the running pipeline does."""
    topic = unique_topic(stack, "dagster")
    gen = TrafficGenerator(21, stack.hash_salt.get_secret_value(), fraud=False)
    batch = gen.batch(EVENTS, HOUR, HOUR + timedelta(hours=1))
    producer = ClickProducer(stack, topic)
    producer.send_batch(batch)
    producer.flush(60)
    _sink("db", topic)
    _sink("lake", topic, "--flush-seconds", "1")
    return len(batch)


def _materialize(selection: list[str], partition: str | None = None) -> dg.ExecuteInProcessResult:
    assets = [defs.get_assets_def(dg.AssetKey(name)) for name in selection]
    return dg.materialize(
        assets, resources=RESOURCES, partition_key=partition, raise_on_error=False
    )


def test_postgres_schema_materializes(stack: Settings) -> None:
    result = _materialize(["postgres_schema"])
    assert result.success
    mats = result.asset_materializations_for_node("postgres_schema")
    assert "| 1 | 0001_clickstream_events.sql |" in mats[0].metadata["migrations"].value


def test_lake_hour_compacts_to_parquet_with_parity(stack: Settings, one_hour_stored: int) -> None:
    key = HOUR.strftime("%Y-%m-%d-%H:%M")
    result = _materialize(["lake_hourly_parquet"], key)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["contract_conformity"].passed
    assert checks["postgres_count_parity"].passed, checks["postgres_count_parity"].metadata
    body = (
        s3_client(stack)
        .get_object(
            Bucket=stack.minio_bucket, Key=f"parquet/clickstream/{HOUR:%Y/%m/%d/%H}.parquet"
        )["Body"]
        .read()
    )
    frame = pd.read_parquet(io.BytesIO(body))
    assert len(frame) == one_hour_stored and frame["event_id"].is_unique
    again = _materialize(["lake_hourly_parquet"], key)  # rerun overwrites the same object
    assert again.success
    mat = again.asset_materializations_for_node("lake_hourly_parquet")[0]
    assert mat.metadata["events"].value == one_hour_stored


def test_warehouse_day_is_replaced_on_rerun(stack: Settings, one_hour_stored: int) -> None:
    day = HOUR.strftime("%Y-%m-%d")
    for _ in range(2):
        result = _materialize(["warehouse_daily_stats", "warehouse_hourly_traffic"], day)
        assert result.success
        assert all(c.passed for c in result.get_asset_check_evaluations())
        mat = result.asset_materializations_for_node("warehouse_daily_stats")[0]
        assert mat.metadata["events"].value == one_hour_stored
        hourly = result.asset_materializations_for_node("warehouse_hourly_traffic")[0]
        assert "| 14:00 | 3,000 |" in hourly.metadata["events_per_hour"].value


def _lagging_group(stack: Settings, records: int) -> None:
    """Records on `clickstream` that the db sink's group has not consumed: real lag."""
    producer = Producer(producer_config(stack, "lag-maker"))
    one = TrafficGenerator(3, "s", fraud=False).batch(records, HOUR, HOUR + timedelta(minutes=1))
    for key, value in one.pairs():
        producer.produce(stack.topic, value, key)
    assert producer.flush(30) == 0


def test_stream_health_sensor_observes_and_alerts(stack: Settings) -> None:
    _lagging_group(stack, 25)
    resources = {**RESOURCES, "thresholds": StreamHealthThresholds(max_lag=10)}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        result = stream_health(ctx)
    assert isinstance(result, dg.SensorResult)
    lag = result.asset_events[0].metadata["lag adnomaly-db-sink"].value
    assert isinstance(lag, int) and lag >= 25
    (alert,) = result.run_requests or []
    problems = alert.run_config["ops"]["raise_stream_alert"]["config"]["problems"]
    assert any("adnomaly-db-sink lags" in p for p in problems)
    reading = json.loads(result.cursor or "{}")
    assert reading["clickstream_end"] >= 25


def test_partition_sensor_requests_complete_partitions(stack: Settings) -> None:
    now = datetime.now(UTC)
    last = (now - timedelta(hours=4)).strftime("%Y-%m-%d-%H:00")
    cursor = json.dumps({"hour": last, "day": (now - timedelta(days=3)).strftime("%Y-%m-%d")})
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=RESOURCES, cursor=cursor)
        result = partitions_when_complete(ctx)
    assert isinstance(result, dg.SensorResult)
    lake = [r.partition_key for r in result.run_requests or [] if r.job_name == "lake_hourly_job"]
    days = [r.partition_key for r in result.run_requests or [] if r.job_name != "lake_hourly_job"]
    assert 2 <= len(lake) <= 3  # hours after the cursor that ended more than 10 min ago
    assert lake == sorted(lake) and all(k > last for k in lake)
    assert len(days) in (1, 2)


FEATURE_DAY = datetime(2026, 5, 5, tzinfo=UTC)
_FEATURE_ROW = (
    "INSERT INTO feature_aggregates (geo, platform, window_start, window_end, ctr_avg,"
    " bounce_rate_avg, event_count, cpc_avg, conversion_rate, unique_users, events_per_user,"
    " suspicious_ua_share) VALUES (%s, %s, %s, %s, 0.02, 0.5, 40, 0.6, 0.05, 30, 1.33, 0)"
    " ON CONFLICT (geo, platform, window_end) DO NOTHING"
)


def _feature_rows(stack: Settings, ends: list[datetime]) -> None:
    from streaming.db.connect import connect

    with connect(stack) as conn:
        for end in ends:
            for geo, platform in (("US", "ios"), ("DE", "web")):
                conn.execute(_FEATURE_ROW, (geo, platform, end - timedelta(minutes=5), end))


def test_features_apply_export_materialize(stack: Settings) -> None:
    _feature_rows(stack, [FEATURE_DAY + timedelta(hours=h) for h in (1, 2, 3)])
    day = FEATURE_DAY.strftime("%Y-%m-%d")
    assert _materialize(["feast_apply"]).success
    exported = _materialize(["offline_features_parquet"], day)
    assert exported.success
    rows = exported.asset_materializations_for_node("offline_features_parquet")[0].metadata["rows"]
    assert rows.value == 6
    assert _materialize(["feast_materialize"]).success


def test_feature_freshness_check_needs_a_recent_window(stack: Settings) -> None:
    job = defs.resolve_job_def("feature_freshness_job")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _feature_rows(stack, [now])
    result = job.execute_in_process(raise_on_error=False)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed, check.metadata


def test_fraud_model_trains_from_feature_aggregates_and_is_stored(stack: Settings) -> None:
    from streaming.db.connect import connect
    from streaming.detection.replay import features_between
    from streaming.detection.store import load_latest_model

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=20)
    gen = TrafficGenerator(31, "s", fraud=False)
    frame = features_between(gen, start, start + timedelta(hours=12), 8.0)
    columns = list(frame.columns)
    insert = (
        f"INSERT INTO feature_aggregates ({', '.join(columns)}) VALUES"  # noqa: S608 (fixed)
        f" ({', '.join(['%s'] * len(columns))}) ON CONFLICT (geo, platform, window_end) DO NOTHING"
    )
    with connect(stack) as conn, conn.cursor() as cur:
        cur.executemany(insert, [tuple(r) for r in frame.itertuples(index=False)])
    result = _materialize(["fraud_model"])
    assert result.success
    version = result.asset_materializations_for_node("fraud_model")[0].metadata["version"].value
    latest = load_latest_model(stack)
    assert latest is not None and latest.version == version


def test_detection_evaluation_reports_per_scenario_with_charts(stack: Settings) -> None:
    result = _materialize(["detection_evaluation"])
    assert result.success
    meta = result.asset_materializations_for_node("detection_evaluation")[0].metadata
    table = meta["scenarios"].value
    for scenario in (
        "bot_click_flood",
        "ctr_inflation",
        "cpc_manipulation",
        "emulator_burst",
        "conversion_drought",
        "overall",
    ):
        assert f"| {scenario} |" in table
    assert "data:image/png;base64," in meta["charts"].value
