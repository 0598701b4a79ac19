"""Lake: one Parquet object per hour, compacted from the lake sink's JSON Lines objects.

The Parquet key depends only on the hour, so a rerun or backfill overwrites it. Checks compare
the hour with the event contract (blocking: a broken hour is not handed downstream) and with
PostgreSQL (count parity).
"""

import io
from datetime import timedelta
from typing import Any

import dagster as dg
import orjson
import pandas as pd

from adnomaly_dagster.partitions import hour_window, hourly
from adnomaly_dagster.resources import PostgresResource, S3Resource
from adnomaly_dagster.tables import markdown_table
from streaming.contract import ContractError, wire_records

PARQUET_PREFIX = "parquet/clickstream"
PREVIEW = ["timestamp", "geo", "platform", "campaign_id", "CTR", "CPC", "conversion"]


def hour_path(key: str) -> str:
    start, _ = hour_window(key)
    return start.strftime("%Y/%m/%d/%H")


def read_hour(s3: Any, bucket: str, lake_prefix: str, key: str) -> tuple[list[bytes], int, int]:
    """Every JSON line of the hour's raw objects (under LAKE_PREFIX, where the lake sink writes
    them); returns (lines, objects, bytes)."""
    lines: list[bytes] = []
    objects = size = 0
    prefix = f"{lake_prefix}/{hour_path(key)}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines.extend(line for line in body.split(b"\n") if line)
            objects, size = objects + 1, size + obj["Size"]
    return lines, objects, size


def contract_conformity(lines: list[bytes]) -> tuple[list[dict[str, Any]], dg.AssetCheckResult]:
    """The hour's records, and whether every line keeps the event contract (the first
    violation is named); a broken line still lands in the Parquet object as read."""
    try:
        records, error = wire_records(lines), ""
    except ContractError as exc:
        records, error = [orjson.loads(line) for line in lines], str(exc)
    check = dg.AssetCheckResult(
        check_name="contract_conformity",
        passed=not error,
        metadata={"error": error or "none", "records": len(lines)},
    )
    return records, check


@dg.asset(
    group_name="lake",
    kinds={"s3", "parquet"},
    partitions_def=hourly,
    deps=["lake_raw_jsonl"],
    description="Compacts one hour of raw clickstream JSON Lines (<bucket>/clickstream/"
    "YYYY/MM/DD/HH/*.jsonl) into one Parquet object (parquet/clickstream/YYYY/MM/DD/HH.parquet), "
    "deduplicated on event_id and sorted by time.",
    check_specs=[
        dg.AssetCheckSpec(
            "contract_conformity",
            asset="lake_hourly_parquet",
            blocking=True,
            description="Every raw line of the hour keeps the event contract.",
        ),
        dg.AssetCheckSpec(
            "postgres_count_parity",
            asset="lake_hourly_parquet",
            description="The hour holds as many distinct events as clickstream_events.",
        ),
    ],
    # the lake_hours_when_complete sensor requests each hour ~10 minutes after it ends
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=2), warn_window=timedelta(minutes=90)
    ),
)
def lake_hourly_parquet(
    context: dg.AssetExecutionContext, s3: S3Resource, postgres: PostgresResource
) -> dg.MaterializeResult:
    client, bucket = s3.client(), s3.bucket
    lake_prefix = s3.settings().lake_prefix
    lines, objects, raw_bytes = read_hour(client, bucket, lake_prefix, context.partition_key)
    records, conformity = contract_conformity(lines)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    duplicates = int(frame.duplicated("event_id").sum()) if len(frame) else 0
    if len(frame):
        frame = frame.drop_duplicates("event_id").sort_values("timestamp", kind="stable")
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, compression="zstd")
    key = f"{PARQUET_PREFIX}/{hour_path(context.partition_key)}.parquet"
    client.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())

    start, end = hour_window(context.partition_key)
    with postgres.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM clickstream_events WHERE timestamp >= %s AND timestamp < %s",
            (start, end),
        ).fetchone()
    in_postgres = int(row[0]) if row else 0
    parity = dg.AssetCheckResult(
        check_name="postgres_count_parity",
        passed=in_postgres == len(frame),
        metadata={"lake_events": len(frame), "postgres_events": in_postgres},
    )
    preview = frame.head(10)[PREVIEW].itertuples(index=False) if len(frame) else []
    return dg.MaterializeResult(
        metadata={
            "events": dg.MetadataValue.int(len(frame)),
            "duplicates_dropped": dg.MetadataValue.int(duplicates),
            "raw_objects": dg.MetadataValue.int(objects),
            "raw_bytes": dg.MetadataValue.int(raw_bytes),
            "parquet_bytes": dg.MetadataValue.int(buf.tell()),
            "parquet_key": dg.MetadataValue.text(f"s3://{bucket}/{key}"),
            "preview": dg.MetadataValue.md(markdown_table(PREVIEW, preview)),
        },
        check_results=[conformity, parity],
    )
