"""Sensors watching the streams: health observations and alerts, and partition requests.

Every Kafka/REST call has a timeout of a few seconds, so a tick stays far under Dagster's 60 s
limit; cursors hold the previous tick's offsets to turn totals into rates and growth.
"""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from adnomaly_dagster.assets.ingest import (
    CLICKSTREAM_EVENTS,
    CLICKSTREAM_TOPIC,
    DLQ_TOPIC,
    FLINK_JOB,
)
from adnomaly_dagster.constants import WATCHED_GROUPS
from adnomaly_dagster.jobs import lake_hourly_job, warehouse_daily_job
from adnomaly_dagster.resources import (
    FlinkResource,
    KafkaResource,
    PostgresResource,
    StreamHealthThresholds,
)

FLINK_JOB_NAME = "adnomaly-features"


class AlertConfig(dg.Config):
    problems: list[str]


@dg.op(description="Fails with the stream-health problems, so they show as a red run.")
def raise_stream_alert(config: AlertConfig) -> None:
    raise dg.Failure(
        description="stream health: " + "; ".join(config.problems),
        metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in config.problems))},
    )


@dg.job(description="Raised by the stream_health sensor when a threshold is crossed.")
def stream_health_alert() -> None:
    raise_stream_alert()


def _flink_state(flink: FlinkResource) -> str:
    try:
        jobs = [j for j in flink.jobs() if j.get("name") == FLINK_JOB_NAME]
    except OSError as exc:
        return f"UNREACHABLE ({exc})"
    states = {j["state"] for j in jobs}
    return "RUNNING" if "RUNNING" in states else (sorted(states)[0] if states else "NOT SUBMITTED")


def _last_event_age(postgres: PostgresResource) -> float | None:
    with postgres.connect() as conn:
        row = conn.execute("SELECT max(timestamp) FROM clickstream_events").fetchone()
    return (datetime.now(UTC) - row[0]).total_seconds() if row and row[0] else None


def measure(
    kafka: KafkaResource, postgres: PostgresResource, flink: FlinkResource, cursor: dict[str, Any]
) -> dict[str, Any]:
    """One reading of the streams; rates use the previous reading in `cursor`."""
    now = time.time()
    clicks = sum(kafka.end_offsets("clickstream").values())
    dlq = sum(kafka.end_offsets("clickstream.dlq").values())
    elapsed = now - cursor["t"] if "t" in cursor else 0.0
    return {
        "t": now,
        "clickstream_end": clicks,
        "dlq_end": dlq,
        "events_per_s": (clicks - cursor["clickstream_end"]) / elapsed if elapsed else 0.0,
        "dlq_growth": dlq - cursor.get("dlq_end", dlq),
        "lag": {g: sum(kafka.lag(g, t).values()) for g, t in WATCHED_GROUPS.items()},
        "seconds_since_event": _last_event_age(postgres),
        "flink_state": _flink_state(flink),
    }


def problems(reading: dict[str, Any], limits: StreamHealthThresholds) -> list[str]:
    found = [
        f"consumer group {g} lags {lag:,} records (limit {limits.max_lag:,})"
        for g, lag in reading["lag"].items()
        if lag > limits.max_lag
    ]
    age = reading["seconds_since_event"]
    if age is None or age > limits.max_seconds_since_event:
        found.append(f"no event for {'ever' if age is None else f'{age:,.0f}s'}")
    if reading["dlq_growth"] > limits.max_dlq_growth:
        found.append(f"DLQ grew by {reading['dlq_growth']:,} records since the last tick")
    if reading["flink_state"] != "RUNNING":
        found.append(f"Flink job {FLINK_JOB_NAME}: {reading['flink_state']}")
    return found


@dg.sensor(
    job=stream_health_alert,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Consumer lag, events/s, time since the last event, DLQ growth and the Flink "
    "job's state, recorded as observations; a crossed threshold launches a failing alert run.",
)
def stream_health(
    context: dg.SensorEvaluationContext,
    kafka: KafkaResource,
    postgres: PostgresResource,
    flink: FlinkResource,
    thresholds: StreamHealthThresholds,
) -> dg.SensorResult:
    reading = measure(kafka, postgres, flink, json.loads(context.cursor or "{}"))
    lag_meta = {f"lag {g}": dg.MetadataValue.int(v) for g, v in reading["lag"].items()}
    age = reading["seconds_since_event"]
    observations = [
        dg.AssetObservation(
            CLICKSTREAM_TOPIC.key,
            metadata={
                "records": reading["clickstream_end"],
                "events_per_s": dg.MetadataValue.float(round(reading["events_per_s"], 1)),
                **lag_meta,
            },
        ),
        dg.AssetObservation(
            DLQ_TOPIC.key, metadata={"records": reading["dlq_end"], "growth": reading["dlq_growth"]}
        ),
        dg.AssetObservation(
            CLICKSTREAM_EVENTS.key,
            metadata={
                "seconds_since_last_event": dg.MetadataValue.float(round(age, 1) if age else -1.0)
            },
        ),
        dg.AssetObservation(FLINK_JOB.key, metadata={"state": reading["flink_state"]}),
    ]
    found = problems(reading, thresholds)
    hour = datetime.now(UTC).strftime("%Y%m%d%H")
    runs = (
        [
            dg.RunRequest(
                run_key=f"alert-{hour}-{'|'.join(sorted(p.split(' ')[0] for p in found))}",
                run_config=dg.RunConfig(ops={"raise_stream_alert": AlertConfig(problems=found)}),
            )
        ]
        if found
        else []
    )
    return dg.SensorResult(run_requests=runs, asset_events=observations, cursor=json.dumps(reading))


def complete_partitions(
    last: str | None, now: datetime, grace: timedelta, step: timedelta, fmt: str, limit: int = 24
) -> list[str]:
    """Partition keys whose window ended more than `grace` ago, after `last` (exclusive)."""
    newest = (now - grace - step).replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        newest = newest.replace(hour=0)
    start = datetime.strptime(last, fmt).replace(tzinfo=UTC) + step if last else newest
    keys: list[str] = []
    while start <= newest and len(keys) < limit:
        keys.append(start.strftime(fmt))
        start += step
    return keys


HOUR_FMT, DAY_FMT = "%Y-%m-%d-%H:%M", "%Y-%m-%d"
CAUGHT_UP = 1_000  # records of lag below which a sink counts as caught up


@dg.sensor(
    jobs=[lake_hourly_job, warehouse_daily_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests each lake hour once the lake sink has caught up past it (10 min grace) "
    "and each warehouse day once the db sink has (30 min grace).",
)
def partitions_when_complete(
    context: dg.SensorEvaluationContext, kafka: KafkaResource
) -> dg.SensorResult | dg.SkipReason:
    cursor = json.loads(context.cursor or "{}")
    now = datetime.now(UTC)
    runs: list[dg.RunRequest] = []
    lag = {g: sum(kafka.lag(g, t).values()) for g, t in WATCHED_GROUPS.items()}
    if lag["adnomaly-lake-sink"] < CAUGHT_UP:
        hours = complete_partitions(
            cursor.get("hour"), now, timedelta(minutes=10), timedelta(hours=1), HOUR_FMT
        )
        runs += [
            dg.RunRequest(run_key=f"lake-{h}", partition_key=h, job_name=lake_hourly_job.name)
            for h in hours
        ]
        cursor["hour"] = hours[-1] if hours else cursor.get("hour")
    if lag["adnomaly-db-sink"] < CAUGHT_UP:
        days = complete_partitions(
            cursor.get("day"), now, timedelta(minutes=30), timedelta(days=1), DAY_FMT
        )
        runs += [
            dg.RunRequest(
                run_key=f"warehouse-{d}", partition_key=d, job_name=warehouse_daily_job.name
            )
            for d in days
        ]
        cursor["day"] = days[-1] if days else cursor.get("day")
    if not runs:
        return dg.SkipReason(f"no newly complete partition (sink lag: {lag})")
    return dg.SensorResult(run_requests=runs, cursor=json.dumps(cursor))
