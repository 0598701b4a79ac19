"""Connections as ConfigurableResources, filled from the environment with EnvVar in
definitions.py; the same variables streaming/settings.py reads."""

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import dagster as dg
import psycopg
from botocore.config import Config
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from dagster_aws.s3 import S3Resource


class PostgresResource(dg.ConfigurableResource):
    """The app database, as the app role (never a superuser)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password,
            connect_timeout=5,
        ) as conn:
            yield conn


class MinioS3Resource(S3Resource):
    """dagster-aws's S3Resource pointed at MinIO; MINIO_ENDPOINT is host:port (the seed's
    format), so the client gets the scheme added here."""

    def get_client(self) -> Any:
        url = self.endpoint_url or "localhost:9000"
        return boto3.client(
            "s3",
            endpoint_url=url if "://" in url else f"http://{url}",
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            region_name=self.region_name or "us-east-1",
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
        )


class KafkaResource(dg.ConfigurableResource):
    """Admin and offset queries; every call has a short timeout so a sensor tick never hangs."""

    bootstrap_servers: str
    timeout_s: float = 5.0

    def _base(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "broker.address.family": "v4",
            "log_level": 3,
        }

    def admin(self) -> AdminClient:
        return AdminClient(self._base())

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = Consumer({**self._base(), "group.id": "adnomaly-dagster-probe"})
        try:
            meta = consumer.list_topics(topic, timeout=self.timeout_s).topics[topic]
            if meta.error is not None:
                raise RuntimeError(f"topic {topic}: {meta.error}")
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), self.timeout_s)[1]
                for p in meta.partitions
            }
        finally:
            consumer.close()

    def committed(self, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
        """The group's committed offsets, asked by a consumer of that group that never
        subscribes (so it does not join). Not AdminClient.list_consumer_group_offsets:
        librdkafka dies with SIGSEGV there when the broker answers NOT_COORDINATOR, as a
        restarted broker does (confluentinc/librdkafka#5040), and it would take the sensor
        process with it."""
        consumer = Consumer({**self._base(), "group.id": group, "enable.auto.commit": False})
        try:
            parts = [TopicPartition(topic, p) for p in partitions]
            result = consumer.committed(parts, timeout=self.timeout_s)
        finally:
            consumer.close()
        return {tp.partition: max(tp.offset, 0) for tp in result}

    def lag(self, group: str, topic: str) -> dict[int, int]:
        ends = self.end_offsets(topic)
        done = self.committed(group, topic, list(ends))
        return {p: end - done.get(p, 0) for p, end in ends.items()}


class FlinkResource(dg.ConfigurableResource):
    """The Flink JobManager's REST API."""

    rest_url: str
    timeout_s: float = 5.0

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(  # noqa: S310 (configured loopback URL)
            f"{self.rest_url.rstrip('/')}{path}", timeout=self.timeout_s
        ) as resp:
            return json.loads(resp.read())

    def jobs(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.get("/jobs/overview")["jobs"]
        return jobs


class StreamHealthThresholds(dg.ConfigurableResource):
    """When the stream-health sensor turns red; override with ADNOMALY_MAX_* variables."""

    max_lag: int = 100_000
    max_seconds_since_event: float = 600.0
    max_dlq_growth: int = 100
