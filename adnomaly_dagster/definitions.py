"""The one Definitions of the Adnomaly code location (workspace.yaml loads this module).

Resources are filled from the environment with EnvVar at run time (the same variables as
streaming/settings.py); nothing is read from the environment at import time.
"""

from __future__ import annotations

import dagster as dg

from adnomaly_dagster.assets.detection import detection_evaluation, fraud_model
from adnomaly_dagster.assets.features import (
    FeastResource,
    feast_apply,
    feast_materialize,
    feature_freshness,
    offline_features_parquet,
)
from adnomaly_dagster.assets.ingest import EXTERNAL
from adnomaly_dagster.assets.lake import LakeBucket, lake_hourly_parquet
from adnomaly_dagster.assets.warehouse import (
    postgres_schema,
    warehouse_daily_stats,
    warehouse_hourly_traffic,
)
from adnomaly_dagster.jobs import (
    feature_freshness_job,
    features_daily_job,
    lake_hourly_job,
    warehouse_daily_job,
)
from adnomaly_dagster.resources import (
    FlinkResource,
    KafkaResource,
    MinioS3Resource,
    PostgresResource,
    StreamHealthThresholds,
)
from adnomaly_dagster.schedules import feature_freshness_every_10m, features_daily
from adnomaly_dagster.sensors import partitions_when_complete, stream_health, stream_health_alert

RESOURCES = {
    "postgres": PostgresResource(
        host=dg.EnvVar("DB_HOST"),
        port=dg.EnvVar.int("DB_PORT"),
        dbname=dg.EnvVar("DB_NAME"),
        user=dg.EnvVar("DB_USER"),
        password=dg.EnvVar("DB_PASSWORD"),
    ),
    "s3": MinioS3Resource(
        endpoint_url=dg.EnvVar("MINIO_ENDPOINT"),
        aws_access_key_id=dg.EnvVar("MINIO_ACCESS_KEY"),
        aws_secret_access_key=dg.EnvVar("MINIO_SECRET_KEY"),
        region_name="us-east-1",
    ),
    "lake_bucket": LakeBucket(name=dg.EnvVar("MINIO_BUCKET")),
    "kafka": KafkaResource(bootstrap_servers=dg.EnvVar("KAFKA_BOOTSTRAP")),
    "flink": FlinkResource(rest_url=dg.EnvVar("FLINK_REST_URL")),
    "thresholds": StreamHealthThresholds(),
    "feast": FeastResource(repo_path=dg.EnvVar("FEATURE_REPO_PATH")),
}

defs = dg.Definitions(
    assets=[
        *EXTERNAL,
        postgres_schema,
        warehouse_daily_stats,
        warehouse_hourly_traffic,
        lake_hourly_parquet,
        feast_apply,
        offline_features_parquet,
        feast_materialize,
        fraud_model,
        detection_evaluation,
    ],
    asset_checks=[feature_freshness],
    jobs=[
        stream_health_alert,
        lake_hourly_job,
        warehouse_daily_job,
        features_daily_job,
        feature_freshness_job,
    ],
    schedules=[features_daily, feature_freshness_every_10m],
    sensors=[stream_health, partitions_when_complete],
    resources=RESOURCES,
)
