"""librdkafka client settings shared by every producer and consumer of the project."""

from __future__ import annotations

from typing import Any

from streaming.settings import Settings

SASL_MECHANISM = "SCRAM-SHA-512"


def principal_of(settings: Settings, principal: str) -> str:
    """The principal a client acts as: its own, unless KAFKA_PRINCIPAL names another."""
    return settings.kafka_principal or principal


def base_config(settings: Settings, client_id: str, principal: str = "admin") -> dict[str, Any]:
    """Every client authenticates (SASL/SCRAM) as a principal; see streaming/kafka/principals.py
    for what each may do. The tooling defaults to admin; services pass their own."""
    user = principal_of(settings, principal)
    # v4 only: the broker binds 127.0.0.1 and `localhost` would try ::1 first on every connect
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": client_id,
        "broker.address.family": "v4",
        "log_level": 4,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": SASL_MECHANISM,
        "sasl.username": user,
        "sasl.password": settings.kafka_password(user),
    }


def producer_config(settings: Settings, client_id: str, principal: str = "admin") -> dict[str, Any]:
    """Idempotent producer: acks=all + enable.idempotence, so retries never duplicate or reorder
    within a partition; batching and lz4 for throughput."""
    return {
        **base_config(settings, client_id, principal),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "batch.num.messages": 20_000,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "message.timeout.ms": 120_000,
    }


def consumer_config(
    settings: Settings,
    client_id: str,
    group_id: str,
    instance_id: str | None = None,
    principal: str = "admin",
) -> dict[str, Any]:
    """Manual commits only: offsets are committed after the write they cover is durable.

    A static `instance_id` (group.instance.id) lets a restarted service take its partitions
    back at once instead of waiting for the dead member's session to expire.
    """
    extra = {"group.instance.id": instance_id} if instance_id else {}
    return {
        **extra,
        **base_config(settings, client_id, principal),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.min.bytes": 1,
        "fetch.wait.max.ms": 100,
        "max.partition.fetch.bytes": 4_194_304,
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 2_000,
    }
