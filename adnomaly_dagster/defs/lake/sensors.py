"""lake_hourly_job and the sensor that requests each lake hour once it is complete."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from adnomaly_dagster.partitions import CAUGHT_UP, HOUR_FMT, complete_partitions
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
    lag = kafka.lags({group: settings.topic})[group]
    if lag >= CAUGHT_UP:
        return dg.SkipReason(f"lake sink {group} lags {lag:,} records")
    last = json.loads(context.cursor or "{}").get("hour")
    hours = complete_partitions(
        last, datetime.now(UTC), timedelta(minutes=10), timedelta(hours=1), HOUR_FMT
    )
    if not hours:
        return dg.SkipReason(f"no lake hour completed since {last}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"lake-{h}", partition_key=h) for h in hours],
        cursor=json.dumps({"hour": hours[-1]}),
    )
