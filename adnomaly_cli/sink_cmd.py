"""`adnomaly sink db|lake`: run a sink until stopped (SIGTERM/Ctrl-C finish the batch first)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from streaming.settings import get_settings
from streaming.sinks.db import DbWriter
from streaming.sinks.lake import LakeWriter
from streaming.sinks.runner import SinkRunner

app = typer.Typer(no_args_is_help=True, help=__doc__)

Group = Annotated[
    str | None, typer.Option(help="consumer group (default: DB_SINK_GROUP / LAKE_SINK_GROUP)")
]
Topic = Annotated[str | None, typer.Option(help="source topic (default: TOPIC)")]
MaxSeconds = Annotated[float | None, typer.Option(help="stop after this many seconds")]
IdleExit = Annotated[float | None, typer.Option(help="stop after this long without records")]
InstanceId = Annotated[
    str | None, typer.Option(help="static group member id: a restart takes its partitions back")
]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@app.command()
def db(
    group: Group = None,
    topic: Topic = None,
    max_seconds: MaxSeconds = None,
    idle_exit: IdleExit = None,
    instance_id: InstanceId = None,
) -> None:
    """clickstream → PostgreSQL clickstream_events (COPY, idempotent on event_id)."""
    _logging()
    settings = get_settings()
    runner = SinkRunner(
        settings,
        DbWriter(settings),
        group or settings.db_sink_group,
        topic,
        instance_id=instance_id,
    )
    runner.run(max_seconds=max_seconds, idle_exit_s=idle_exit)


@app.command()
def lake(
    group: Group = None,
    topic: Topic = None,
    max_seconds: MaxSeconds = None,
    idle_exit: IdleExit = None,
    instance_id: InstanceId = None,
    prefix: Annotated[
        str | None, typer.Option(help="object key prefix in the bucket (default: LAKE_PREFIX)")
    ] = None,
    flush_seconds: Annotated[float, typer.Option(help="flush at least this often")] = 10.0,
) -> None:
    """clickstream → MinIO MINIO_BUCKET/LAKE_PREFIX/YYYY/MM/DD/HH/*.jsonl."""
    _logging()
    settings = get_settings()
    writer = LakeWriter(settings, prefix=prefix, max_age_s=flush_seconds)
    runner = SinkRunner(
        settings, writer, group or settings.lake_sink_group, topic, instance_id=instance_id
    )
    runner.run(max_seconds=max_seconds, idle_exit_s=idle_exit)
