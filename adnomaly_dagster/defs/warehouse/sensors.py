"""warehouse_daily_job and the sensor that requests each warehouse day once it is complete."""

from datetime import timedelta

import dagster as dg

from adnomaly_dagster.partitions import DAY_FMT, request_complete
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
    return request_complete(
        context.cursor,
        sink=f"db sink {group}",
        lag=kafka.lags({group: settings.topic})[group],
        unit="day",
        grace=timedelta(minutes=30),
        step=timedelta(days=1),
        fmt=DAY_FMT,
        run_prefix="warehouse",
    )
