"""Poison records for the chaos run and the check that each one reached the DLQ once per sink
of the clickstream topic, with the sink named in its headers."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from confluent_kafka import Producer

from adnomaly_ops.chaos.faults import CLIENT_LOG
from streaming.kafka.config import producer_config
from streaming.kafka.inspect import read_since
from streaming.settings import Settings

CLICKSTREAM_CONSUMERS = ("db-sink", "lake-sink")
_MARKER = re.compile(rb"chaos-poison-([0-9a-f]{8})-(\d+)")


def poison_records(run: str, per_kind: int) -> list[bytes]:
    """Records each sink must reject: not JSON, JSON breaking the contract, and oversized."""
    out = []
    for i in range(per_kind):
        out.append(f"not json chaos-poison-{run}-{3 * i}".encode())
        out.append(f'{{"event_id": "chaos-poison-{run}-{3 * i + 1}", "geo": "XX"}}'.encode())
        pad = "x" * 20_000  # over the sinks' 16 KiB record limit
        out.append(f'{{"event_id": "chaos-poison-{run}-{3 * i + 2}", "pad": "{pad}"}}'.encode())
    return out


def send_poison(settings: Settings, records: list[bytes]) -> None:
    producer = Producer(
        {**producer_config(settings, "adnomaly-chaos-poison"), "logger": CLIENT_LOG}
    )
    for value in records:
        producer.produce(settings.topic, value, b"chaos|poison")
    if producer.flush(60):
        raise RuntimeError("poison records were not acknowledged by the broker")


def poison_in_dlq(settings: Settings, run: str, since: datetime) -> dict[int, set[str]]:
    """Poison record number -> the sinks whose DLQ copy of it was found."""
    found: dict[int, set[str]] = defaultdict(set)
    for record in read_since(settings, settings.dlq_topic, since):
        match = _MARKER.search(record.value)
        if match and match.group(1).decode() == run:
            found[int(match.group(2))].add(record.headers.get("sink", b"?").decode())
    return found
