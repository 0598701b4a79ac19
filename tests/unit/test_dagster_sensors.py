"""The sensors with fake resources (no servers): stream health (figures as Prometheus has them)
as check results, landings as materializations, thresholds from the ADNOMALY_MAX_* variables;
partition requests once a sink has caught up. The same sensors run against the real stack in
tests/integration/test_dagster_assets.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from confluent_kafka import KafkaError, KafkaException

from adnomaly_dagster.defs.ingest.sensors import stream_health
from adnomaly_dagster.defs.lake.sensors import lake_hours_when_complete
from adnomaly_dagster.defs.warehouse.sensors import warehouse_days_when_complete
from adnomaly_dagster.resources import KafkaResource, PostgresResource, PrometheusResource
from streaming.prometheus_api import PrometheusUnavailableError, StreamFigures
from streaming.settings import load_settings


class FakeKafka(KafkaResource):
    lag: int = 0
    appended: int = 0
    records: int = 1_000
    down: bool = False

    def _up(self) -> None:
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down"))

    def lags(self, groups: Mapping[str, str]) -> dict[str, int]:
        self._up()
        return dict.fromkeys(groups, self.lag)

    def appended_since(self, topic: str, since: datetime) -> int:
        self._up()
        return self.appended

    def size(self, topic: str) -> int:
        self._up()
        return self.records


# "now" as of each test's start, not the module's import: the suite may run these tests long
# after collecting them, and the newest event must then still be seconds old
CLOCK: dict[str, datetime] = {}


@pytest.fixture(autouse=True)
def _fresh_clock() -> None:
    CLOCK["now"] = datetime.now(UTC).replace(microsecond=0)


class FakePostgres(PostgresResource):
    seconds_ago: float = 5.0  # age of the newest event and the newest feature window
    empty: bool = False

    def newest(self, table: str, column: str) -> datetime | None:
        return None if self.empty else CLOCK["now"] - timedelta(seconds=self.seconds_ago)


class FakePrometheus(PrometheusResource):
    lag: int = 0  # every group's
    dlq_growth: int = 0
    flink_running: bool = True
    down: bool = False

    def figures(self) -> StreamFigures:
        if self.down:
            raise PrometheusUnavailableError("Prometheus at http://127.0.0.1:9090: refused")
        settings = load_settings()
        return StreamFigures(
            at=datetime.now(UTC),
            lags=dict.fromkeys(settings.group_topics, self.lag),
            topic_records={settings.topic: 1_000, settings.dlq_topic: self.dlq_growth},
            events_per_s=2.0,
            dlq_growth=self.dlq_growth,
            flink_running=self.flink_running,
        )


def _tick(cursor: str | None = None, **fakes: dg.ConfigurableResource) -> dg.SensorResult:
    resources = {"prometheus": FakePrometheus(), "postgres": FakePostgres(), **fakes}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor)
        result = stream_health(ctx)
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests, "stream health launches no run"
    return result


def _checks(result: dg.SensorResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.asset_events
        if isinstance(e, dg.AssetCheckEvaluation)
    }


def test_healthy_streams_pass_every_check_and_report_landings() -> None:
    result = _tick()
    checks = _checks(result)
    assert len(checks) == 5 and all(c.passed for c in checks.values()), checks
    landed = {
        e.asset_key.to_user_string()
        for e in result.asset_events
        if isinstance(e, dg.AssetMaterialization)
    }
    assert landed == {"clickstream_events", "feature_aggregates"}
    again = _tick(result.cursor)  # nothing newer landed: no second materialization
    assert not [e for e in again.asset_events if isinstance(e, dg.AssetMaterialization)]


def test_thresholds_come_from_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    lagging = {"prometheus": FakePrometheus(lag=50, dlq_growth=30)}
    assert all(c.passed for c in _checks(_tick(**lagging)).values())
    monkeypatch.setenv("ADNOMALY_MAX_LAG", "10")
    monkeypatch.setenv("ADNOMALY_MAX_DLQ_GROWTH", "20")
    monkeypatch.setenv("ADNOMALY_MAX_SECONDS_SINCE_EVENT", "60")
    checks = _checks(_tick(**lagging, postgres=FakePostgres(seconds_ago=120)))
    failed = {key for key, c in checks.items() if not c.passed}
    assert failed == {
        ("clickstream_topic", "consumers_keep_up"),
        ("features_topic", "consumers_keep_up"),
        ("clickstream_dlq_topic", "dlq_growth_bounded"),
        ("clickstream_events", "events_arriving"),
    }
    assert "adnomaly-db-sink lags 50" in (
        checks["clickstream_topic", "consumers_keep_up"].description or ""
    )


def test_unreachable_prometheus_and_a_stopped_job_fail_their_checks() -> None:
    checks = _checks(_tick(prometheus=FakePrometheus(down=True), postgres=FakePostgres(empty=True)))
    assert not checks["clickstream_topic", "consumers_keep_up"].passed
    assert "refused" in (checks["clickstream_topic", "consumers_keep_up"].description or "")
    assert not checks["clickstream_dlq_topic", "dlq_growth_bounded"].passed
    assert not checks["clickstream_events", "events_arriving"].passed
    stopped = _checks(_tick(prometheus=FakePrometheus(flink_running=False)))
    job = stopped["flink_features_job", "job_running"]
    assert not job.passed and job.description == "adnomaly-features: NOT RUNNING"


def _partition_tick(sensor: dg.SensorDefinition, lag: int, cursor: dict[str, str]) -> object:
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(
            instance=instance, resources={"kafka": FakeKafka(lag=lag)}, cursor=json.dumps(cursor)
        )
        return sensor(ctx)


def test_lake_hours_are_requested_once_complete_and_caught_up() -> None:
    last = (datetime.now(UTC) - timedelta(hours=4)).strftime("%Y-%m-%d-%H:00")
    result = _partition_tick(lake_hours_when_complete, 10, {"hour": last})
    assert isinstance(result, dg.SensorResult)
    keys = [r.partition_key for r in result.run_requests or []]
    assert 2 <= len(keys) <= 3 and keys == sorted(keys) and all(k > last for k in keys)
    assert json.loads(result.cursor or "{}") == {"hour": keys[-1]}
    skipped = _partition_tick(lake_hours_when_complete, 5_000, {"hour": last})
    assert isinstance(skipped, dg.SkipReason) and "lags 5,000" in (skipped.skip_message or "")


def test_warehouse_days_are_requested_once_complete_and_caught_up() -> None:
    last = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    result = _partition_tick(warehouse_days_when_complete, 0, {"day": last})
    assert isinstance(result, dg.SensorResult)
    days = [r.partition_key for r in result.run_requests or []]
    assert len(days) in (1, 2) and all(d > last for d in days)
    skipped = _partition_tick(warehouse_days_when_complete, 1_000, {"day": last})
    assert isinstance(skipped, dg.SkipReason)
