"""Feast objects of Adnomaly: one feature view of the Flink job's 5-minute features per
(geo, platform), fed online by a push source (the ingestor) and offline by day-partitioned
Parquet (the backfill), served to the fraud model through a versioned feature service.

Feature names and types are the Flink job's output (streaming/feature_contract.py; a unit test
keeps them equal). The view's name and the offline dir are settings like every other name
(streaming/settings.py: FEATURE_VIEW_NAME, FEAST_OFFLINE_DIR), read when Feast imports this file,
so `feast apply` here with `.env` loaded and `adnomaly features apply` register the same thing.
Feast stores the source path in the registry at apply time, so it must be concrete here.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.data_format import ParquetFormat
from feast.types import Float32, Int64, String

from streaming.settings import load_settings

_settings = load_settings()

geo = Entity(
    name="geo", join_keys=["geo"], value_type=ValueType.STRING, description="2-letter country code"
)
platform = Entity(
    name="platform",
    join_keys=["platform"],
    value_type=ValueType.STRING,
    description="web, ios or android",
)

traffic_5m_parquet = FileSource(
    name="traffic_5m_parquet",
    path=str(_settings.feast_offline_dir / _settings.feature_view_name),
    file_format=ParquetFormat(),
    timestamp_field="window_end",
    description="feature_aggregates exported by `adnomaly features backfill`, one dir per day",
)

traffic_5m_push = PushSource(
    name="traffic_5m_push",
    batch_source=traffic_5m_parquet,
    description="the features topic, pushed online by `adnomaly features ingest`",
)

traffic_5m_by_geo_platform = FeatureView(
    name=_settings.feature_view_name,
    entities=[geo, platform],
    ttl=timedelta(days=3),
    schema=[
        Field(name="geo", dtype=String),
        Field(name="platform", dtype=String),
        Field(name="ctr_avg", dtype=Float32),
        Field(name="bounce_rate_avg", dtype=Float32),
        Field(name="event_count", dtype=Int64),
        Field(name="cpc_avg", dtype=Float32),
        Field(name="conversion_rate", dtype=Float32),
        Field(name="unique_users", dtype=Int64),
        Field(name="events_per_user", dtype=Float32),
        Field(name="suspicious_ua_share", dtype=Float32),
    ],
    source=traffic_5m_push,
    online=True,
    description="5-minute sliding traffic features per (geo, platform), window_end as event time",
)

# Versioned: a retrained model with other inputs gets fraud_model_v2, v1 keeps serving.
fraud_model_v1 = FeatureService(
    name="fraud_model_v1",
    features=[traffic_5m_by_geo_platform],
    description="inputs of the anomaly detector, version 1",
    tags={"model": "fraud", "version": "1"},
)
