"""warehouse_daily_job and the sensor that requests each warehouse day once it is complete."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from adnomaly_dagster.partitions import CAUGHT_UP, DAY_FMT, complete_partitions
from adnomaly_dagster.resources import KafkaResource
from streaming.settings import load_settings

warehouse_daily_job = dg.define_asset_job(
    "warehouse_daily_job",
    selection=["warehouse_daily_stats", "warehouse_hourly_traffic"],
    description="Rebuild one day of the warehouse tables (with their checks).",
)


@dg.sensor(
    job=warehouse_daily_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests each warehouse day once it ended 30 minutes ago and the db sink's "
    "consumer group has caught up (lag below 1,000 records).",
)
def warehouse_days_when_complete(
    context: dg.SensorEvaluationContext, kafka: KafkaResource
) -> dg.SensorResult | dg.SkipReason:
    settings = load_settings()
    group = settings.db_sink_group
    lag = kafka.lags({group: settings.topic})[group]
    if lag >= CAUGHT_UP:
        return dg.SkipReason(f"db sink {group} lags {lag:,} records")
    last = json.loads(context.cursor or "{}").get("day")
    days = complete_partitions(
        last, datetime.now(UTC), timedelta(minutes=30), timedelta(days=1), DAY_FMT
    )
    if not days:
        return dg.SkipReason(f"no warehouse day completed since {last}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"warehouse-{d}", partition_key=d) for d in days],
        cursor=json.dumps({"day": days[-1]}),
    )
