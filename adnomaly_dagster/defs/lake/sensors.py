"""lake_hourly_job and the sensor that requests each lake hour once it is complete."""

from datetime import timedelta

import dagster as dg

from adnomaly_dagster.partitions import HOUR_FMT, request_complete
from adnomaly_dagster.resources import KafkaResource
from streaming.settings import load_settings

lake_hourly_job = dg.define_asset_job(
    "lake_hourly_job",
    selection=["lake_hourly_parquet"],
    description="Compact one lake hour into Parquet (with its checks).",
)


@dg.sensor(
    job=lake_hourly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests each lake hour once it ended 10 minutes ago and the lake sink's "
    "consumer group has caught up (lag below 1,000 records).",
)
def lake_hours_when_complete(
    context: dg.SensorEvaluationContext, kafka: KafkaResource
) -> dg.SensorResult | dg.SkipReason:
    settings = load_settings()
    group = settings.lake_sink_group
    return request_complete(
        context.cursor,
        sink=f"lake sink {group}",
        lag=kafka.lags({group: settings.topic})[group],
        unit="hour",
        grace=timedelta(minutes=10),
        step=timedelta(hours=1),
        fmt=HOUR_FMT,
        run_prefix="lake",
    )
