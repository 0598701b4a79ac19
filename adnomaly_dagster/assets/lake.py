"""Lake: one Parquet object per hour, compacted from the lake sink's JSON Lines objects.

The Parquet key depends only on the hour, so a rerun or backfill overwrites it. Checks compare
the hour with PostgreSQL (count parity) and with the event contract.
"""

import io
from collections.abc import Iterator
from typing import Any

import dagster as dg
import orjson
import pandas as pd

from adnomaly_dagster.assets.ingest import LAKE_RAW
from adnomaly_dagster.constants import LAKE, LAKE_PREFIX, PARQUET_PREFIX
from adnomaly_dagster.partitions import hour_window, hourly
from adnomaly_dagster.resources import MinioS3Resource, PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.contract import ContractError, wire_records

PREVIEW = ["timestamp", "geo", "platform", "campaign_id", "CTR", "CPC", "conversion"]


class LakeBucket(dg.ConfigurableResource):
    """Which bucket the lake lives in (MINIO_BUCKET)."""

    name: str


def _hour_path(key: str) -> str:
    start, _ = hour_window(key)
    return start.strftime("%Y/%m/%d/%H")


def read_hour(s3: Any, bucket: str, key: str) -> tuple[list[bytes], int, int]:
    """Every JSON line of the hour's raw objects; returns (lines, objects, bytes)."""
    lines: list[bytes] = []
    objects = size = 0
    prefix = f"{LAKE_PREFIX}/{_hour_path(key)}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines.extend(line for line in body.split(b"\n") if line)
            objects, size = objects + 1, size + obj["Size"]
    return lines, objects, size


@dg.asset(
    group_name=LAKE,
    kinds={"s3", "parquet"},
    partitions_def=hourly,
    deps=[LAKE_RAW],
    description="Compacts one hour of raw clickstream JSON Lines (adnomaly-data/clickstream/"
    "YYYY/MM/DD/HH/*.jsonl) into one Parquet object (parquet/clickstream/YYYY/MM/DD/HH.parquet).",
    check_specs=[
        dg.AssetCheckSpec("contract_conformity", asset="lake_hourly_parquet", blocking=True),
        dg.AssetCheckSpec("postgres_count_parity", asset="lake_hourly_parquet"),
    ],
)
def lake_hourly_parquet(
    context: dg.AssetExecutionContext,
    s3: MinioS3Resource,
    lake_bucket: LakeBucket,
    postgres: PostgresResource,
) -> Iterator[dg.AssetCheckResult | dg.Output[None]]:
    client = s3.get_client()
    lines, objects, raw_bytes = read_hour(client, lake_bucket.name, context.partition_key)
    try:
        records = wire_records(lines)
        contract_error = ""
    except ContractError as exc:
        records, contract_error = [orjson.loads(line) for line in lines], str(exc)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    duplicates = int(frame.duplicated("event_id").sum()) if len(frame) else 0
    if len(frame):
        frame = frame.drop_duplicates("event_id").sort_values("timestamp", kind="stable")
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, compression="zstd")
    key = f"{PARQUET_PREFIX}/{_hour_path(context.partition_key)}.parquet"
    client.put_object(Bucket=lake_bucket.name, Key=key, Body=buf.getvalue())

    yield dg.AssetCheckResult(
        check_name="contract_conformity",
        passed=not contract_error,
        metadata={"error": contract_error or "none", "records": len(lines)},
    )
    start, end = hour_window(context.partition_key)
    with postgres.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM clickstream_events WHERE timestamp >= %s AND timestamp < %s",
            (start, end),
        ).fetchone()
    in_postgres = int(row[0]) if row else 0
    yield dg.AssetCheckResult(
        check_name="postgres_count_parity",
        passed=in_postgres == len(frame),
        metadata={"lake_events": len(frame), "postgres_events": in_postgres},
    )
    preview = frame.head(10)[PREVIEW].itertuples(index=False) if len(frame) else []
    yield dg.Output(
        None,
        metadata={
            "events": dg.MetadataValue.int(len(frame)),
            "duplicates_dropped": dg.MetadataValue.int(duplicates),
            "raw_objects": dg.MetadataValue.int(objects),
            "raw_bytes": dg.MetadataValue.int(raw_bytes),
            "parquet_bytes": dg.MetadataValue.int(buf.tell()),
            "parquet_key": dg.MetadataValue.text(f"s3://{lake_bucket.name}/{key}"),
            "preview": dg.MetadataValue.md(markdown_table(PREVIEW, preview)),
        },
    )
