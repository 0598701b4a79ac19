"""External assets: what the long-running services write (Dagster observes, never runs them).

The stream-health sensor records AssetObservations on these, so their lag, rate and state are
plotted in the UI next to the assets Dagster materializes.
"""

from __future__ import annotations

import dagster as dg

from adnomaly_dagster.constants import INGEST

CLICKSTREAM_TOPIC = dg.AssetSpec(
    "clickstream_topic",
    group_name=INGEST,
    kinds={"kafka"},
    description="Kafka topic `clickstream`: raw click events from the generator, keyed "
    "geo|platform, 6 partitions, 7 days retention.",
)
LABELS_TOPIC = dg.AssetSpec(
    "fraud_labels_topic",
    group_name=INGEST,
    kinds={"kafka"},
    description="Kafka topic of fraud ground truth (incident type, segment, start, end).",
)
DLQ_TOPIC = dg.AssetSpec(
    "clickstream_dlq_topic",
    group_name=INGEST,
    kinds={"kafka"},
    deps=[CLICKSTREAM_TOPIC],
    description="Records the sinks rejected, with the original bytes, the error and the source "
    "partition/offset as headers.",
)
CLICKSTREAM_EVENTS = dg.AssetSpec(
    "clickstream_events",
    group_name=INGEST,
    kinds={"postgres"},
    deps=[CLICKSTREAM_TOPIC],
    description="PostgreSQL clickstream_events, written by the db sink (COPY, idempotent on "
    "event_id), partitioned by day.",
)
LAKE_RAW = dg.AssetSpec(
    "lake_raw_jsonl",
    group_name=INGEST,
    kinds={"s3", "json"},
    deps=[CLICKSTREAM_TOPIC],
    description="MinIO adnomaly-data/clickstream/YYYY/MM/DD/HH/*.jsonl, written by the lake sink "
    "(objects named by hour, partition and first offset).",
)
FLINK_JOB = dg.AssetSpec(
    "flink_features_job",
    group_name=INGEST,
    kinds={"flink"},
    deps=[CLICKSTREAM_TOPIC],
    description="The Flink SQL job computing 5-minute sliding features per (geo, platform).",
)
FEATURES_TOPIC = dg.AssetSpec(
    "features_topic",
    group_name=INGEST,
    kinds={"kafka"},
    deps=[FLINK_JOB],
    description="Kafka topic `features`: one row per (geo, platform, 5-minute window).",
)

FEATURE_AGGREGATES = dg.AssetSpec(
    "feature_aggregates",
    group_name=INGEST,
    kinds={"postgres"},
    deps=[FLINK_JOB],
    description="PostgreSQL feature_aggregates: the Flink job's rows, upserted on "
    "(geo, platform, window_end).",
)

EXTERNAL = [
    CLICKSTREAM_TOPIC,
    LABELS_TOPIC,
    DLQ_TOPIC,
    CLICKSTREAM_EVENTS,
    LAKE_RAW,
    FLINK_JOB,
    FEATURES_TOPIC,
    FEATURE_AGGREGATES,
]
