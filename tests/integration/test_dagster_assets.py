"""Dagster assets materialized against the real stack, every blocking check failing on bad
data, and the sensors evaluated on the real servers (real lag, real rows)."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg
import orjson
import pandas as pd
import pytest
from confluent_kafka import Producer

from adnomaly_dagster.definitions import defs
from adnomaly_dagster.defs.ingest.sensors import stream_health
from adnomaly_dagster.defs.lake.sensors import lake_hours_when_complete
from adnomaly_dagster.defs.warehouse.sensors import warehouse_days_when_complete
from streaming.db.connect import connect
from streaming.generator import TrafficGenerator
from streaming.kafka.config import producer_config
from streaming.producer import ClickProducer
from streaming.prometheus_api import query
from streaming.s3 import s3_client
from streaming.settings import Settings, child_env
from tests.integration.helpers import unique_topic, wait_for

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 4, 10, 14, tzinfo=UTC)
EVENTS = 3_000
DEFS = defs()
RESOURCES = DEFS.resources


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
    assets = [DEFS.resolve_assets_def(name) for name in selection]
    # resolved from the code location: each comes with the resources defs/ binds to it
    return dg.materialize(assets, partition_key=partition, raise_on_error=False)


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


@contextmanager
def _stuck_db_sink(stack: Settings) -> Iterator[None]:
    """The db sink as supervised (its group, instance and metrics port) but with PostgreSQL at
    a port nothing listens on: it consumes and never commits, so the lag it exports to
    Prometheus is real and stays."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        nowhere = free.getsockname()[1]
    env = child_env(stack, DB_PORT=str(nowhere), ADNOMALY_EXPORT_METRICS="1")
    argv = [sys.executable, "-m", "adnomaly_cli", "sink", "db", "--instance-id", "db-sink-1"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(60)


def _prometheus_lag(stack: Settings, group: str, at_least: int, deadline_s: float) -> None:
    promql = f'sum(adnomaly_stream_commit_lag_records{{group="{group}"}}) >= {at_least}'
    wait_for(
        lambda: query(stack, promql),
        deadline_s,
        f"Prometheus to show lag >= {at_least} for {group}",
        interval_s=1.0,
    )


def test_stream_health_reports_failed_checks_not_runs(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _stuck_db_sink(stack):
        _lagging_group(stack, 25)
        _prometheus_lag(stack, stack.db_sink_group, 25, 90)
        # the broker's log end offsets come from its JMX exporter, scraped on its own cadence
        topic = f'sum(kafka_log_log_end_offset{{topic="{stack.topic}"}}) >= 25'
        wait_for(lambda: query(stack, topic), 60, "Prometheus to show the topic's records")
        _assert_lag_fails_its_check(monkeypatch)


def _assert_lag_fails_its_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADNOMALY_MAX_LAG", "10")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=RESOURCES)
        result = stream_health(ctx)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.asset_events
        if isinstance(e, dg.AssetCheckEvaluation)
    }
    lagging = checks["clickstream_topic", "consumers_keep_up"]
    assert not lagging.passed and "adnomaly-db-sink lags" in (lagging.description or "")
    lag = lagging.metadata["lag adnomaly-db-sink"].value
    assert isinstance(lag, int) and lag >= 25
    # the suite's stack runs Flink but no job: red, with the state named
    job = checks["flink_features_job", "job_running"]
    assert not job.passed and "NOT RUNNING" in (job.description or "")
    (topic,) = [
        e
        for e in result.asset_events
        if isinstance(e, dg.AssetObservation)
        and e.asset_key.to_user_string() == "clickstream_topic"
    ]
    assert topic.metadata["records"].value >= 25


def test_stream_health_reports_a_new_feature_window_once(stack: Settings) -> None:
    newest = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    with dg.instance_for_test() as instance:
        first = stream_health(dg.build_sensor_context(instance=instance, resources=RESOURCES))
        _feature_rows(stack, [newest])
        ctx = dg.build_sensor_context(instance=instance, resources=RESOURCES, cursor=first.cursor)
        second = stream_health(ctx)
    assert isinstance(second, dg.SensorResult)
    landed = [
        e
        for e in second.asset_events
        if isinstance(e, dg.AssetMaterialization)
        and e.asset_key.to_user_string() == "feature_aggregates"
    ]
    assert len(landed) == 1
    assert landed[0].metadata["newest_window_end"].value == str(newest)


def test_partition_sensors_request_complete_partitions(stack: Settings) -> None:
    now = datetime.now(UTC)
    last = (now - timedelta(hours=4)).strftime("%Y-%m-%d-%H:00")
    day = (now - timedelta(days=3)).strftime("%Y-%m-%d")
    with dg.instance_for_test() as instance:
        lake = lake_hours_when_complete(
            dg.build_sensor_context(
                instance=instance, resources=RESOURCES, cursor=json.dumps({"hour": last})
            )
        )
        warehouse = warehouse_days_when_complete(
            dg.build_sensor_context(
                instance=instance, resources=RESOURCES, cursor=json.dumps({"day": day})
            )
        )
    assert isinstance(lake, dg.SensorResult) and isinstance(warehouse, dg.SensorResult)
    hours = [r.partition_key for r in lake.run_requests or []]
    days = [r.partition_key for r in warehouse.run_requests or []]
    assert 2 <= len(hours) <= 3  # hours after the cursor that ended more than 10 min ago
    assert hours == sorted(hours) and all(k > last for k in hours)
    assert len(days) in (1, 2)


BAD_HOUR = datetime(2026, 4, 11, 3, tzinfo=UTC)


def test_lake_contract_check_blocks_a_broken_hour(stack: Settings) -> None:
    """One line with a CTR outside the contract: the blocking check fails the run."""
    (_, good), *_ = (
        TrafficGenerator(5, "s", fraud=False)
        .batch(3, BAD_HOUR, BAD_HOUR + timedelta(minutes=1))
        .pairs()
    )
    broken = orjson.dumps({**orjson.loads(good), "CTR": 5.0})
    key = f"clickstream/{BAD_HOUR:%Y/%m/%d/%H}/broken.jsonl"
    s3_client(stack).put_object(Bucket=stack.minio_bucket, Key=key, Body=good + b"\n" + broken)
    result = _materialize(["lake_hourly_parquet"], BAD_HOUR.strftime("%Y-%m-%d-%H:%M"))
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["contract_conformity"].passed
    assert "CTR" in str(checks["contract_conformity"].metadata["error"].value)
    assert not result.success  # blocking: nothing downstream reads the hour


_EVENT = (
    "INSERT INTO clickstream_events (event_id, timestamp, user_id_hash, ad_id, campaign_id, geo,"
    " platform, user_agent, cpc, ctr, conversion, bounce_rate)"
    " VALUES (%s, %s, 'abcdef0123456789', 'ad_1', 'camp_1', %s, 'web', 'Mozilla/5.0',"
    " 0.5, 0.02, 0, 0.5)"
)
GOOD_ROWS = [(f"ok-{i}", 5, "US") for i in range(3)]


@pytest.mark.parametrize(
    ("check", "day", "bad_rows"),
    [
        # geo is a bare char(2): the table takes 'ZZ', the contract does not
        ("known_geos", datetime(2026, 4, 12, tzinfo=UTC), [("zz-1", 1, "ZZ")]),
        # the key is (event_id, timestamp): one event_id under two timestamps fits
        (
            "no_duplicate_event_ids",
            datetime(2026, 4, 13, tzinfo=UTC),
            [("dup-1", 2, "US"), ("dup-1", 3, "US")],
        ),
    ],
)
def test_warehouse_blocking_checks_fail_on_bad_rows(
    stack: Settings, check: str, day: datetime, bad_rows: list[tuple[str, int, str]]
) -> None:
    with connect(stack) as conn:
        conn.execute("SELECT ensure_clickstream_partition(%s)", (day.date(),))
        conn.execute(
            "DELETE FROM clickstream_events WHERE timestamp >= %s AND timestamp < %s",
            (day, day + timedelta(days=1)),
        )
        for event_id, hour, geo in GOOD_ROWS + bad_rows:
            conn.execute(_EVENT, (event_id, day + timedelta(hours=hour), geo))
    result = _materialize(["warehouse_daily_stats"], day.strftime("%Y-%m-%d"))
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks[check].passed, checks[check].metadata
    assert all(c.passed for name, c in checks.items() if name != check), "only this rule fails"
    assert not result.success  # blocking


FEATURE_DAY = datetime(2026, 5, 5, tzinfo=UTC)
_FEATURE_ROW = (
    "INSERT INTO feature_aggregates (geo, platform, window_start, window_end, ctr_avg,"
    " bounce_rate_avg, event_count, cpc_avg, conversion_rate, unique_users, events_per_user,"
    " suspicious_ua_share) VALUES (%s, %s, %s, %s, 0.02, 0.5, 40, 0.6, 0.05, 30, 1.33, 0)"
    " ON CONFLICT (geo, platform, window_end) DO NOTHING"
)


def _feature_rows(stack: Settings, ends: list[datetime]) -> None:
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


def test_fraud_model_trains_from_feature_aggregates_and_is_stored(stack: Settings) -> None:
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


def test_detection_evaluation_evaluates_the_stored_model(stack: Settings) -> None:
    from streaming.detection.store import load_latest_model

    stored = load_latest_model(stack)
    assert stored is not None, "runs after the fraud_model test, which stores one"
    result = _materialize(["detection_evaluation"])
    assert result.success
    meta = result.asset_materializations_for_node("detection_evaluation")[0].metadata
    assert meta["model_version"].value == stored.version
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
