"""The S3 client for MinIO, shared by the lake sink, the model store and the tooling."""

from __future__ import annotations

import boto3
from botocore.config import Config

from streaming.settings import Settings


def s3_client(settings: Settings):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=settings.minio_url,
        aws_access_key_id=settings.minio_access_key,
        aws_secret_access_key=settings.minio_secret_key.get_secret_value(),
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
    )
