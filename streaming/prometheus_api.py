"""The pipeline's health figures as Prometheus has them (its HTTP API on PROMETHEUS_PORT).

One place that knows the queries, so that a reader of stream health (the Dagster
stream_health sensor, the incidents app's health strip) asks Prometheus once instead of polling
Kafka, PostgreSQL and Flink itself. Each figure is None when Prometheus has no sample for it
(a service not running, nothing written yet).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streaming.settings import Settings

TIMEOUT_S = 3.0


class PrometheusUnavailableError(RuntimeError):
    """Prometheus did not answer, or refused the query; the message says which and why."""


def query(settings: Settings, promql: str) -> list[tuple[dict[str, str], float]]:
    """An instant query: (labels, value) per series of the result."""
    url = f"{settings.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 (loopback)
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        raise PrometheusUnavailableError(f"query {promql!r} refused: {detail}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PrometheusUnavailableError(f"Prometheus at {settings.prometheus_url}: {exc}") from exc
    data = body["data"]
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return [(r["metric"], float(r["value"][1])) for r in data["result"]]


def _one(settings: Settings, promql: str) -> float | None:
    result = query(settings, promql)
    return result[0][1] if result else None


@dataclass(frozen=True)
class StreamFigures:
    at: datetime  # when the figures were read
    lags: dict[str, int] = field(default_factory=dict)  # consumer group -> records behind
    topic_records: dict[str, int] = field(default_factory=dict)  # topic -> records appended
    events_per_s: float | None = None  # appended to the clickstream topic, last minute
    dlq_growth: int | None = None  # records dead-lettered in the last 10 minutes
    newest_event: datetime | None = None  # event time of the newest event the db sink stored
    newest_window: datetime | None = None  # end of the newest feature window pushed online
    flink_running: bool = False

    def age(self, newest: datetime | None) -> float | None:
        return None if newest is None else max((self.at - newest).total_seconds(), 0.0)

    @property
    def newest_event_age_s(self) -> float | None:
        return self.age(self.newest_event)

    @property
    def newest_feature_age_s(self) -> float | None:
        return self.age(self.newest_window)


def _time(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


def stream_figures(settings: Settings) -> StreamFigures:
    """Lag per group (the services' commit lag, the Flink source's pending records), the
    clickstream's rate (the broker's count), DLQ growth, the freshness of events and features
    (the services' newest event time) and whether the Flink job runs."""
    lags = {
        labels["group"]: int(value)
        for labels, value in query(settings, "sum by (group) (adnomaly_stream_commit_lag_records)")
    }
    flink = f'job_name="{settings.flink_job_name}"'
    pending = _one(settings, f"sum(flink_taskmanager_job_task_operator_pendingRecords{{{flink}}})")
    if pending is not None:
        lags[settings.flink_group] = int(pending)
    rate = _one(
        settings,
        "sum(rate(kafka_server_brokertopicmetrics_messagesin_total"
        f'{{topic="{settings.topic}"}}[1m]))',
    )
    dlq = _one(settings, "sum(increase(adnomaly_stream_records_dead_lettered_total[10m]))")
    newest = "max(adnomaly_stream_newest_event_timestamp_seconds{service=%s} > 0)"
    records = query(settings, "sum by (topic) (kafka_log_log_end_offset)")
    return StreamFigures(
        at=datetime.now(UTC),
        lags=lags,
        topic_records={labels["topic"]: int(value) for labels, value in records},
        events_per_s=rate,
        dlq_growth=None if dlq is None else round(dlq),
        newest_event=_time(_one(settings, newest % '"db-sink"')),
        newest_window=_time(_one(settings, newest % '"feast-ingestor"')),
        flink_running=bool(_one(settings, f"count(flink_jobmanager_job_uptime{{{flink}}} > 0)")),
    )
