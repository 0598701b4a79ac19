"""The detector service's input and output: feature records in (bad ones become DLQ
rejects), `anomaly_results` rows and `anomalies` topic alerts out.

Rows are upserted on the table's UNIQUE (geo, platform, window_end, model_version), so a
redelivered features batch rewrites the same rows instead of adding copies. Open incidents
are read back at start, so a restarted detector continues an incident under the same key
instead of announcing it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import orjson
import psycopg
from confluent_kafka import KafkaError, Message, Producer
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from streaming.db.connect import DatabaseUnavailableError, connect
from streaming.db.migrations import migrate
from streaming.detection.alerts import Incident
from streaming.feature_contract import FeatureRow
from streaming.kafka.config import producer_config
from streaming.settings import Settings
from streaming.sinks.records import Rejected

T = TypeVar("T")
log = logging.getLogger("adnomaly.detector.results")
UPSERT = (
    "INSERT INTO anomaly_results AS r (geo, platform, window_start, window_end, score,"
    " is_anomaly, drivers, reason, model_version, incident_key, role, driver_feature,"
    " driver_view) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (geo, platform, window_end, model_version) DO UPDATE SET"
    " window_start = excluded.window_start, score = excluded.score,"
    " is_anomaly = excluded.is_anomaly, drivers = excluded.drivers, reason = excluded.reason,"
    " incident_key = coalesce(excluded.incident_key, r.incident_key), role = excluded.role,"
    " driver_feature = excluded.driver_feature, driver_view = excluded.driver_view,"
    " detected_at = now()"
)
# The newest incident of each segment: its extent over every champion row (whichever version
# was champion then) and the explanation of its peak window. Challenger rows have no incidents.
OPEN_INCIDENTS = (
    "WITH latest AS (SELECT DISTINCT ON (geo, platform) incident_key FROM anomaly_results"
    " WHERE is_anomaly AND incident_key IS NOT NULL AND role = 'champion'"
    " ORDER BY geo, platform, window_end DESC)"
    " SELECT geo, platform, incident_key, min(window_start), min(window_end), max(window_end),"
    " max(score), count(DISTINCT window_end), (array_agg(reason ORDER BY score DESC))[1],"
    " (array_agg(drivers ORDER BY score DESC))[1],"
    " (array_agg(driver_feature ORDER BY score DESC))[1],"
    " (array_agg(driver_view ORDER BY score DESC))[1] FROM anomaly_results"
    " WHERE is_anomaly AND role = 'champion' AND incident_key IN (SELECT incident_key FROM latest)"
    " GROUP BY geo, platform, incident_key"
)


def parse_batch(messages: list[Message]) -> tuple[list[FeatureRow], list[Rejected]]:
    rows, rejected = [], []
    for msg in messages:
        raw, where = msg.value() or b"", (msg.partition() or 0, msg.offset() or 0)
        try:
            rows.append(FeatureRow.model_validate_json(raw))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            fields = tuple(str(e["loc"][-1]) for e in errors if e["loc"])
            problems = "; ".join(
                f"{e['loc'][-1]}: {e['msg']}" if e["loc"] else e["msg"] for e in errors[:5]
            )
            error = f"invalid feature row: {problems}"
            rejected.append(Rejected(raw, msg.key(), error, fields, *where))
    return rows, rejected


def write_results(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> int:
    """One transaction for the batch: all rows durable, or none. Returns the row count."""
    params = [
        (
            r["geo"],
            r["platform"],
            r["window_start"],
            r["window_end"],
            float(r["score"]),
            bool(r["is_anomaly"]),
            Jsonb(r["drivers"]),
            r["reason"],
            r["model_version"],
            r.get("incident_key"),
            r.get("role", "champion"),
            r.get("driver_feature"),
            r.get("driver_view"),
        )
        for r in rows
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(UPSERT, params)
    return len(params)


def open_incidents(conn: psycopg.Connection, gap: timedelta) -> list[Incident]:
    """Each segment's latest incident; the grouper resolves it once later windows show it
    ended (more than `gap` after its last anomalous window)."""
    with conn.transaction():
        found = conn.execute(OPEN_INCIDENTS).fetchall()
    return [
        Incident(
            key,
            geo.strip(),
            platform,
            start,
            first,
            last,
            float(peak),
            int(n),
            why,
            drivers,
            feature or "",
            view or "",
        )
        for geo, platform, key, start, first, last, peak, n, why, drivers, feature, view in found
    ]


class RetryingDb:
    """One connection (schema migrated on connect), re-opened after a failure; `call` retries
    with bounded backoff while PostgreSQL is away, returning None once `stop` is set."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn: psycopg.Connection | None = None

    def call(self, action: Callable[[psycopg.Connection], T], stop: threading.Event) -> T | None:
        backoff = 0.2
        while not stop.is_set():
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = connect(self.settings)
                    migrate(self.conn)
                return action(self.conn)
            except (psycopg.OperationalError, DatabaseUnavailableError) as exc:
                log.warning("PostgreSQL unavailable, retrying in %.1fs: %s", backoff, exc)
                if self.conn is not None:
                    self.conn.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        return None


class AlertPublisher:
    """Idempotent producer for the anomalies topic; `flush()` raises if any alert was not
    acknowledged, so offsets are never committed past an unsent alert."""

    def __init__(self, settings: Settings, topic: str | None = None) -> None:
        self.topic = topic or settings.anomalies_topic
        self.producer = Producer(
            producer_config(settings, "adnomaly-detector-alerts", principal="detector")
        )
        self.failures: list[str] = []
        self.sent = 0

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.failures.append(str(err))

    def publish(self, message: dict[str, Any]) -> None:
        key = str(message["incident_key"]).encode()
        self.producer.produce(
            self.topic, orjson.dumps(message), key=key, on_delivery=self._on_delivery
        )
        self.sent += 1
        self.producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        remaining = self.producer.flush(timeout_s)
        if remaining or self.failures:
            failures, self.failures = self.failures, []
            raise RuntimeError(f"{remaining} alert(s) unacknowledged; errors: {failures[:3]}")
