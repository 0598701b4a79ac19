"""The project's topics with explicit partitions and retention; creation is idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from streaming.kafka.config import base_config
from streaming.settings import Settings

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    purpose: str
    replication_factor: int = 1
    min_insync_replicas: int | None = None  # the broker's default (1) unless set (HA: 2)

    def configs(self) -> dict[str, str]:
        configs = {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}
        if self.min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(self.min_insync_replicas)
        return configs


def topic_specs(settings: Settings) -> list[TopicSpec]:
    # clickstream is keyed by geo|platform (108 keys), so 6 partitions spread them and allow up
    # to 6 consumers per group; labels and the DLQ are small but must outlive the events.
    # In the HA profile every topic has 3 replicas and an acks=all write needs 2 of them.
    rf, isr = settings.replication_factor, settings.min_insync_replicas if settings.ha else None
    return [
        TopicSpec(settings.topic, 6, 7 * DAY_MS, "raw click events", rf, isr),
        TopicSpec(settings.features_topic, 3, 7 * DAY_MS, "5-minute sliding features", rf, isr),
        TopicSpec(settings.anomalies_topic, 3, 30 * DAY_MS, "detector alerts", rf, isr),
        TopicSpec(settings.dlq_topic, 3, 30 * DAY_MS, "rejected records with reasons", rf, isr),
        TopicSpec(settings.labels_topic, 1, -1, "fraud ground truth (kept forever)", rf, isr),
    ]


def admin_client(settings: Settings, principal: str = "admin") -> AdminClient:
    return AdminClient(base_config(settings, f"adnomaly-{principal}-admin", principal))


def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> dict[str, str]:
    """Create missing topics and re-apply configs of existing ones; returns name -> action."""
    specs = specs if specs is not None else topic_specs(settings)
    admin = admin_client(settings)
    existing = admin.list_topics(timeout=10).topics
    actions: dict[str, str] = {}
    to_create = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=s.replication_factor,
            config=s.configs(),
        )
        for s in specs
        if s.name not in existing
    ]
    for name, future in (admin.create_topics(to_create) if to_create else {}).items():
        try:
            future.result(timeout=30)
            actions[name] = "created"
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
            actions[name] = "exists"
    for spec in specs:
        if spec.name in existing:
            entries = [
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in spec.configs().items()
            ]
            resource = ConfigResource("topic", spec.name, incremental_configs=entries)
            for future in admin.incremental_alter_configs([resource]).values():
                future.result(timeout=30)
            have = len(existing[spec.name].partitions)
            actions[spec.name] = f"exists ({have} partitions)"
    return actions
