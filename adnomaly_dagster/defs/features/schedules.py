"""The daily export of feature_aggregates to the Feast offline store."""

import dagster as dg

features_daily_job = dg.define_asset_job(
    "features_daily_job",
    selection=["offline_features_parquet"],
    description="Export one day of feature_aggregates to the Feast offline store.",
)
features_daily = dg.build_schedule_from_partitioned_job(
    features_daily_job,
    hour_of_day=0,
    minute_of_hour=45,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
