"""Pipeline health at a glance for the incidents app: is the data behind the queue fresh?

One function on purpose: it reads Prometheus (streaming/prometheus_api.py), which scrapes every
service, instead of asking Kafka and PostgreSQL itself: the broker's append rate, each
consumer group's commit lag, and the event time of the newest event stored and of the newest
feature window pushed online.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streaming.prometheus_api import PrometheusUnavailableError, stream_figures
from streaming.settings import Settings


@dataclass(frozen=True)
class PipelineHealth:
    events_per_s: float | None  # appended to the clickstream topic over the last minute
    newest_event_age_s: float | None  # None: no event stored yet (or the db sink is not up)
    newest_feature_age_s: float | None  # by the newest feature window's end
    lag: dict[str, int] = field(default_factory=dict)  # consumer group -> records behind
    problems: tuple[str, ...] = ()  # what could not be measured, and why


def pipeline_health(settings: Settings) -> PipelineHealth:
    """The figures from Prometheus; when it cannot be asked, `problems` says so instead of
    failing the whole glance."""
    try:
        figures = stream_figures(settings)
    except PrometheusUnavailableError as exc:
        return PipelineHealth(None, None, None, {}, (str(exc),))
    problems = (
        () if figures.flink_running else (f"Flink job {settings.flink_job_name} is not running",)
    )
    return PipelineHealth(
        figures.events_per_s,
        figures.newest_event_age_s,
        figures.newest_feature_age_s,
        figures.lags,
        problems,
    )


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
