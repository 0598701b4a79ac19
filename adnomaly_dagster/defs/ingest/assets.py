"""External assets: what the long-running services write. Dagster never runs them; the
stream_health sensor reports their state (check results, observations, and a materialization
of clickstream_events and feature_aggregates whenever newer rows landed).
"""

from datetime import timedelta

import dagster as dg

GROUP = "ingest"

clickstream_topic = dg.AssetSpec(
    "clickstream_topic",
    group_name=GROUP,
    kinds={"kafka"},
    description="Kafka topic `clickstream` (TOPIC): raw click events from the generator, keyed "
    "geo|platform, 6 partitions, 7 days retention.",
)
fraud_labels_topic = dg.AssetSpec(
    "fraud_labels_topic",
    group_name=GROUP,
    kinds={"kafka"},
    description="Kafka topic of fraud ground truth (incident type, segment, start, end).",
)
clickstream_dlq_topic = dg.AssetSpec(
    "clickstream_dlq_topic",
    group_name=GROUP,
    kinds={"kafka"},
    deps=["clickstream_topic"],
    description="Records the sinks rejected, with the original bytes, the error and the source "
    "partition/offset as headers.",
)
clickstream_events = dg.AssetSpec(
    "clickstream_events",
    group_name=GROUP,
    kinds={"postgres"},
    deps=["clickstream_topic"],
    metadata={"dagster/table_name": "clickstream_events"},
    description="PostgreSQL clickstream_events, written by the db sink (COPY, idempotent on "
    "event_id), partitioned by day.",
)
lake_raw_jsonl = dg.AssetSpec(
    "lake_raw_jsonl",
    group_name=GROUP,
    kinds={"s3", "json"},
    deps=["clickstream_topic"],
    description="MinIO <bucket>/clickstream/YYYY/MM/DD/HH/*.jsonl, written by the lake sink "
    "(objects named by hour, partition and first offset).",
)
flink_features_job = dg.AssetSpec(
    "flink_features_job",
    group_name=GROUP,
    kinds={"flink"},
    deps=["clickstream_topic"],
    description="The Flink SQL job computing 5-minute sliding features per (geo, platform).",
)
features_topic = dg.AssetSpec(
    "features_topic",
    group_name=GROUP,
    kinds={"kafka"},
    deps=["flink_features_job"],
    description="Kafka topic `features`: one row per (geo, platform, 5-minute window).",
)
feature_aggregates = dg.AssetSpec(
    "feature_aggregates",
    group_name=GROUP,
    kinds={"postgres"},
    deps=["flink_features_job"],
    metadata={"dagster/table_name": "feature_aggregates"},
    # windows slide every minute: ten minutes without a new one means the job is not writing
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=10), warn_window=timedelta(minutes=5)
    ),
    description="PostgreSQL feature_aggregates: the Flink job's rows, upserted on "
    "(geo, platform, window_end). Fresh while a new window lands at least every 10 minutes.",
)
