"""Schedules: with the partition sensor, they keep lake, warehouse and features current with
no clicks."""

import dagster as dg

from adnomaly_dagster.jobs import feature_freshness_job, features_daily_job

features_daily = dg.build_schedule_from_partitioned_job(
    features_daily_job,
    hour_of_day=0,
    minute_of_hour=45,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
feature_freshness_every_10m = dg.ScheduleDefinition(
    job=feature_freshness_job,
    cron_schedule="*/10 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
