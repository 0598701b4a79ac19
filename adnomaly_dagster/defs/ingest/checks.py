"""Stream health as asset checks on the ingest assets, executable on demand (the stream_health
sensor reports the same results every 30 s)."""

from collections.abc import Iterator

import dagster as dg

from adnomaly_dagster import health
from adnomaly_dagster.resources import PostgresResource, PrometheusResource
from streaming.settings import load_settings


@dg.multi_asset_check(
    specs=health.CHECK_SPECS,
    description="Consumer lag per group, DLQ growth, age of the newest event and the Flink "
    "job's state, against the ADNOMALY_MAX_* thresholds.",
)
def stream_health_checks(
    prometheus: PrometheusResource, postgres: PostgresResource
) -> Iterator[dg.AssetCheckResult]:
    settings = load_settings()
    for ev in health.evaluate(health.read(settings, prometheus, postgres), settings):
        yield dg.AssetCheckResult(
            asset_key=ev.asset_key,
            check_name=ev.check_name,
            passed=ev.passed,
            description=ev.description,
            metadata=ev.metadata,
        )
