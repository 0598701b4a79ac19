"""Stream health: one reading of the running pipeline, and what it means against the thresholds.

The ingest assets' checks (defs/ingest/checks.py, run on demand) and the stream_health sensor
(defs/ingest/sensors.py, every 30 s) share it, so a lagging group, a growing DLQ, a silent
stream or a stopped Flink job shows as a failed check on the asset concerned (red in the
catalog) with no run at all. Thresholds are Settings fields (ADNOMALY_MAX_LAG,
ADNOMALY_MAX_SECONDS_SINCE_EVENT, ADNOMALY_MAX_DLQ_GROWTH). The streams' figures (lag per
group, records, events/s, DLQ growth, the Flink job) come from Prometheus, which scrapes every
service; the newest stored event and feature window from the tables themselves, since they also
mark those tables' landings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg

from adnomaly_dagster.resources import PostgresResource, PrometheusResource
from streaming.db.connect import DatabaseUnavailableError
from streaming.prometheus_api import PrometheusUnavailableError
from streaming.settings import Settings

DLQ_WINDOW = timedelta(minutes=10)  # ADNOMALY_MAX_DLQ_GROWTH counts records per this window

CLICKSTREAM_TOPIC = dg.AssetKey("clickstream_topic")
FEATURES_TOPIC = dg.AssetKey("features_topic")
DLQ_TOPIC = dg.AssetKey("clickstream_dlq_topic")
CLICKSTREAM_EVENTS = dg.AssetKey("clickstream_events")
FEATURE_AGGREGATES = dg.AssetKey("feature_aggregates")
FLINK_JOB = dg.AssetKey("flink_features_job")

CHECK_SPECS = [
    dg.AssetCheckSpec(
        "consumers_keep_up",
        asset=CLICKSTREAM_TOPIC,
        description="Every consumer group reading `clickstream` (db sink, lake sink, Flink) "
        "lags at most ADNOMALY_MAX_LAG records.",
    ),
    dg.AssetCheckSpec(
        "consumers_keep_up",
        asset=FEATURES_TOPIC,
        description="Every consumer group reading `features` (Feast ingestor, detector) lags at "
        "most ADNOMALY_MAX_LAG records.",
    ),
    dg.AssetCheckSpec(
        "dlq_growth_bounded",
        asset=DLQ_TOPIC,
        description="At most ADNOMALY_MAX_DLQ_GROWTH records dead-lettered in the last 10 minutes.",
    ),
    dg.AssetCheckSpec(
        "events_arriving",
        asset=CLICKSTREAM_EVENTS,
        description="The newest stored event is at most ADNOMALY_MAX_SECONDS_SINCE_EVENT old.",
    ),
    dg.AssetCheckSpec(
        "job_running",
        asset=FLINK_JOB,
        description="The Flink features job (FLINK_JOB_NAME) is RUNNING.",
    ),
]


@dataclass(frozen=True)
class Reading:
    """What the streams look like now; `errors` names a source that could not be asked."""

    at: datetime
    lags: dict[str, int] = field(default_factory=dict)
    clickstream_records: int = 0
    events_per_s: float = 0.0
    dlq_records: int = 0
    dlq_growth: int = 0
    newest_event: datetime | None = None
    newest_window: datetime | None = None
    flink_state: str = "UNKNOWN"
    errors: dict[str, str] = field(default_factory=dict)

    def age(self, newest: datetime | None) -> float | None:
        return (self.at - newest).total_seconds() if newest else None


def read(settings: Settings, prometheus: PrometheusResource, postgres: PostgresResource) -> Reading:
    now = datetime.now(UTC)
    errors: dict[str, str] = {}
    figures = None
    try:
        figures = prometheus.figures()
    except PrometheusUnavailableError as exc:
        errors["prometheus"] = str(exc)
    newest_event = newest_window = None
    try:
        newest_event = postgres.newest("clickstream_events", "timestamp")
        newest_window = postgres.newest("feature_aggregates", "window_end")
    except psycopg.Error as exc:  # down, or the tables not migrated yet
        errors["postgres"] = f"PostgreSQL: {str(exc).strip().splitlines()[0]}"
    except DatabaseUnavailableError as exc:
        errors["postgres"] = str(exc)
    if figures is None:
        return Reading(
            at=now, newest_event=newest_event, newest_window=newest_window, errors=errors
        )
    return Reading(
        at=now,
        lags=figures.lags,
        clickstream_records=figures.topic_records.get(settings.topic, 0),
        events_per_s=figures.events_per_s or 0.0,
        dlq_records=figures.topic_records.get(settings.dlq_topic, 0),
        dlq_growth=figures.dlq_growth or 0,
        newest_event=newest_event,
        newest_window=newest_window,
        flink_state="RUNNING" if figures.flink_running else "NOT RUNNING",
        errors=errors,
    )


def evaluate(reading: Reading, settings: Settings) -> list[dg.AssetCheckEvaluation]:
    """One evaluation per CHECK_SPECS entry, each with the figures it was judged on."""
    topic_of = {CLICKSTREAM_TOPIC: settings.topic, FEATURES_TOPIC: settings.features_topic}
    out = []
    for key, topic in topic_of.items():
        lags = {g: reading.lags.get(g) for g, t in settings.group_topics.items() if t == topic}
        over = [
            f"{g} lags {lag:,}"
            for g, lag in lags.items()
            if lag and lag > settings.max_consumer_lag
        ]
        passed = "prometheus" not in reading.errors and not over
        meta = {f"lag {g}": -1 if v is None else v for g, v in lags.items()}
        out.append(
            _result(
                key,
                "consumers_keep_up",
                passed,
                reading.errors.get("prometheus") or "; ".join(over),
                {**meta, "limit": settings.max_consumer_lag},
            )
        )
    dlq_ok = "prometheus" not in reading.errors and reading.dlq_growth <= settings.max_dlq_growth
    out.append(
        _result(
            DLQ_TOPIC,
            "dlq_growth_bounded",
            dlq_ok,
            reading.errors.get("prometheus")
            or f"{reading.dlq_growth:,} records dead-lettered in the last 10 minutes",
            {
                "growth_10min": reading.dlq_growth,
                "records": reading.dlq_records,
                "limit": settings.max_dlq_growth,
            },
        )
    )
    age = reading.age(reading.newest_event)
    out.append(
        _result(
            CLICKSTREAM_EVENTS,
            "events_arriving",
            age is not None and age <= settings.max_seconds_since_event,
            reading.errors.get("postgres")
            or ("no event stored yet" if age is None else f"newest event {age:,.0f}s old"),
            {
                "seconds_since_last_event": -1.0 if age is None else round(age, 1),
                "limit_seconds": settings.max_seconds_since_event,
            },
        )
    )
    out.append(
        _result(
            FLINK_JOB,
            "job_running",
            reading.flink_state == "RUNNING",
            f"{settings.flink_job_name}: {reading.flink_state}",
            {"state": reading.flink_state},
        )
    )
    return out


def _result(
    key: dg.AssetKey, check: str, passed: bool, why: str, metadata: dict[str, object]
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=key,
        check_name=check,
        passed=passed,
        description=why or None,
        metadata={**metadata, "reason": why or "ok"},  # type: ignore[dict-item]
    )
