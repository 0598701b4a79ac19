"""Pipeline health at a glance for the incidents app: is the data behind the queue fresh?

One function on purpose: it reads Kafka (consumer lag through TopicProbe) and PostgreSQL (rate
and freshness) today, and is the single place to switch to the Prometheus metrics later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from confluent_kafka import KafkaException

from streaming.kafka.inspect import TopicProbe
from streaming.settings import Settings

RATE_WINDOW_S = 60  # events/s is the stored events of the last minute, per second


@dataclass(frozen=True)
class PipelineHealth:
    events_per_s: float | None
    newest_event_age_s: float | None  # None: no event stored yet
    newest_feature_age_s: float | None  # by the newest feature window's end
    lag: dict[str, int] = field(default_factory=dict)  # consumer group -> records behind
    problems: tuple[str, ...] = ()  # what could not be measured, and why


def pipeline_health(
    settings: Settings, conn: psycopg.Connection, probe: TopicProbe | None
) -> PipelineHealth:
    """Events/s and the age of the newest event and feature from PostgreSQL; lag per consumer
    group from Kafka (`probe` None: Kafka unreachable). A part that cannot be measured is
    reported in `problems` instead of failing the whole glance."""
    problems: list[str] = []
    rate = event_age = feature_age = None
    try:
        with conn.transaction():
            row = conn.execute(
                'SELECT (SELECT count(*) FROM clickstream_events WHERE "timestamp" >= now()'
                " - make_interval(secs => %s)),"
                ' (SELECT extract(epoch FROM now() - max("timestamp")) FROM clickstream_events),'
                " (SELECT extract(epoch FROM now() - max(window_end)) FROM feature_aggregates)",
                (RATE_WINDOW_S,),
            ).fetchone()
        assert row is not None
        rate = float(row[0]) / RATE_WINDOW_S
        event_age = None if row[1] is None else max(0.0, float(row[1]))
        feature_age = None if row[2] is None else max(0.0, float(row[2]))
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL: {str(exc).strip().splitlines()[0]}")
    lag: dict[str, int] = {}
    if probe is None:
        problems.append(f"Kafka at {settings.kafka_bootstrap}: unreachable")
    else:
        try:
            lag = probe.lags(settings.group_topics)
        except (KafkaException, RuntimeError) as exc:
            problems.append(f"Kafka lag: {exc}")
    return PipelineHealth(rate, event_age, feature_age, lag, tuple(problems))


def format_age(seconds: float | None) -> str:
    """'12 s', '4 min', '3.2 h', '2.0 d'; '—' when there is nothing yet."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
