"""Who may do what on Kafka: one SASL/SCRAM principal per service and the ACLs it is granted.

`admin` is the broker's super user (topics, ACLs, credentials, the test harness); every other
principal gets exactly the grants below, and anything without an ACL is denied. The stack
manager turns these into broker ACLs at every `stack up`; tests try one thing outside each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from streaming.settings import Settings

ADMIN: Final = "admin"
SERVICES: Final = (
    "generator",
    "db-sink",
    "lake-sink",
    "flink",
    "feast-ingestor",
    "detector",
    "monitor",
)
PRINCIPALS: Final = (ADMIN, *SERVICES)

Resource = Literal["topic", "group"]
Operation = Literal["read", "write", "describe"]


@dataclass(frozen=True)
class Grant:
    resource: Resource
    name: str
    operation: Operation
    prefixed: bool = False


def _reads_topic(topic: str) -> list[Grant]:
    return [Grant("topic", topic, "read"), Grant("topic", topic, "describe")]


def _writes_topic(topic: str) -> list[Grant]:
    return [Grant("topic", topic, "write"), Grant("topic", topic, "describe")]


def _in_group(group: str) -> list[Grant]:
    return [Grant("group", group, "read"), Grant("group", group, "describe")]


def grants(settings: Settings) -> dict[str, list[Grant]]:
    """Each service principal's grants, from the topic and group names in the settings."""
    s = settings
    all_topics = [s.topic, s.features_topic, s.anomalies_topic, s.dlq_topic, s.labels_topic]
    return {
        "generator": [*_writes_topic(s.topic), *_writes_topic(s.labels_topic)],
        "db-sink": [
            *_reads_topic(s.topic),
            *_in_group(s.db_sink_group),
            *_writes_topic(s.dlq_topic),
        ],
        "lake-sink": [
            *_reads_topic(s.topic),
            *_in_group(s.lake_sink_group),
            *_writes_topic(s.dlq_topic),
        ],
        "flink": [
            *_reads_topic(s.topic),
            *_in_group(s.flink_group),
            *_writes_topic(s.features_topic),
        ],
        "feast-ingestor": [
            *_reads_topic(s.features_topic),
            *_in_group(s.feast_ingestor_group),
            *_writes_topic(s.dlq_topic),
        ],
        "detector": [
            *_reads_topic(s.features_topic),
            *_in_group(s.detector_group),
            *_writes_topic(s.anomalies_topic),
            *_writes_topic(s.dlq_topic),
        ],
        # read-only tooling: `adnomaly tail`, lag and size probes (Dagster, the incidents app)
        "monitor": [
            *(g for topic in all_topics for g in _reads_topic(topic)),
            *(Grant("group", g, "describe") for g in s.group_topics),
            *(Grant("group", p, "read", prefixed=True) for p in MONITOR_GROUP_PREFIXES),
        ],
    }


# the throwaway groups the monitor's readers use (tail, read_since)
MONITOR_GROUP_PREFIXES: Final = ("adnomaly-tail-", "adnomaly-reader-")
