"""The stream_health sensor: every 30 s, the stream-health check results, observations of the
streams' figures, and a materialization of clickstream_events / feature_aggregates when newer
rows landed (which is what feature_aggregates' freshness policy watches).

It launches no run: a crossed threshold shows as a failed check on the asset concerned. The
cursor keeps the newest timestamps already reported, so each landing is reported once.
"""

import json

import dagster as dg

from adnomaly_dagster import health
from adnomaly_dagster.resources import PostgresResource, PrometheusResource
from streaming.settings import Settings, load_settings


def _landed(
    key: dg.AssetKey, newest: object, seen: str | None, what: str
) -> list[dg.AssetMaterialization]:
    """A materialization when the newest row differs from the one reported last time."""
    if newest is None or str(newest) == seen:
        return []
    return [dg.AssetMaterialization(key, metadata={what: dg.MetadataValue.text(str(newest))})]


def _observations(reading: health.Reading, settings: Settings) -> list[dg.AssetObservation]:
    """The streams' figures, plotted over time on the topics' pages."""
    lag_of = {
        topic: {
            f"lag {g}": reading.lags[g]
            for g, t in settings.group_topics.items()
            if t == topic and g in reading.lags  # a group none of whose members runs: no figure
        }
        for topic in (settings.topic, settings.features_topic)
    }
    return [
        dg.AssetObservation(
            health.CLICKSTREAM_TOPIC,
            metadata={
                "records": reading.clickstream_records,
                "events_per_s": dg.MetadataValue.float(round(reading.events_per_s, 1)),
                **lag_of[settings.topic],
            },
        ),
        dg.AssetObservation(health.FEATURES_TOPIC, metadata=lag_of[settings.features_topic]),
        dg.AssetObservation(
            health.DLQ_TOPIC,
            metadata={"records": reading.dlq_records, "growth_10min": reading.dlq_growth},
        ),
    ]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Stream health every 30 s: check results on the ingest assets (consumer lag, "
    "DLQ growth, newest event, Flink job state), observations of lag and events/s, and a "
    "materialization of clickstream_events / feature_aggregates when newer rows landed.",
)
def stream_health(
    context: dg.SensorEvaluationContext,
    prometheus: PrometheusResource,
    postgres: PostgresResource,
) -> dg.SensorResult:
    settings = load_settings()
    reading = health.read(settings, prometheus, postgres)
    seen = json.loads(context.cursor or "{}")
    events: list[dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation] = [
        *health.evaluate(reading, settings),
        *_landed(
            health.CLICKSTREAM_EVENTS, reading.newest_event, seen.get("event"), "newest_event"
        ),
        *_landed(
            health.FEATURE_AGGREGATES,
            reading.newest_window,
            seen.get("window"),
            "newest_window_end",
        ),
    ]
    if "prometheus" not in reading.errors:
        events += _observations(reading, settings)
    cursor = {
        "event": str(reading.newest_event) if reading.newest_event else seen.get("event"),
        "window": str(reading.newest_window) if reading.newest_window else seen.get("window"),
    }
    return dg.SensorResult(asset_events=events, cursor=json.dumps(cursor))
