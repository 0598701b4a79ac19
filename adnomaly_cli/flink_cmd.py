"""`adnomaly flink submit|cancel|status`: the features job on the stack's cluster, by name."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from adnomaly_cli.tail_features_cmd import dropped_counts
from streaming.flink.config import JobConfig, Startup
from streaming.flink.rest import FlinkRest
from streaming.flink.submit import FlinkSubmitError, submit
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The features job on the stack's Flink cluster.")
console = Console()

Name = Annotated[
    str | None, typer.Option(help="job name; one running copy per name (default: FLINK_JOB_NAME)")
]


@app.command("submit")
def submit_cmd(
    name: Name = None,
    topic: Annotated[str | None, typer.Option(help="source topic (default TOPIC)")] = None,
    features_topic: Annotated[str | None, typer.Option(help="default FEATURES_TOPIC")] = None,
    features_table: str = "feature_aggregates",
    dropped_table: str = "flink_dropped_events",
    group_id: Annotated[str | None, typer.Option(help="default FLINK_GROUP")] = None,
    window_size: Annotated[str, typer.Option(help="e.g. 5m")] = "5m",
    window_slide: Annotated[str, typer.Option(help="e.g. 1m")] = "1m",
    out_of_orderness: Annotated[str, typer.Option(help="allowed lateness, e.g. 5s")] = "5s",
    idle_timeout: Annotated[str, typer.Option(help="0 never marks a partition idle")] = "30s",
    checkpoint_interval: Annotated[str, typer.Option(help="e.g. 10s")] = "10s",
    startup: Annotated[str, typer.Option(help="group-offsets|earliest-offset|latest-offset")] = (
        "group-offsets"
    ),
    parallelism: Annotated[
        int | None, typer.Option(help="default 1, or 2 with ADNOMALY_PROFILE=ha")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="stop a running copy with a savepoint and resume from it")
    ] = False,
    restore: Annotated[str | None, typer.Option(help="savepoint/checkpoint path to start from")] = (
        None
    ),
) -> None:
    """Submit the features job (detached); a running job of the same name is left alone."""
    settings = get_settings()
    try:
        config = JobConfig.for_stack(
            settings,
            name=name,
            source_topic=topic,
            features_topic=features_topic,
            features_table=features_table,
            dropped_table=dropped_table,
            group_id=group_id,
            window_size=window_size,
            window_slide=window_slide,
            out_of_orderness=out_of_orderness,
            idle_timeout=idle_timeout,
            checkpoint_interval=checkpoint_interval,
            startup=_startup(startup),
            parallelism=parallelism,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][0] if e['loc'] else 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise typer.BadParameter(problems) from None
    with console.status(f"submitting {config.name} to {settings.flink_rest_url}…"):
        try:
            result = submit(settings, config, replace=replace, restore=restore)
        except FlinkSubmitError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None
    verb = "already running" if result.already_running else "submitted"
    console.print(
        f"{config.name} {verb} as job {result.jid} — {settings.flink_rest_url}/#/job/running"
    )


def _startup(value: str) -> Startup:
    choices: tuple[Startup, ...] = ("group-offsets", "earliest-offset", "latest-offset")
    for choice in choices:
        if value == choice:
            return choice
    raise typer.BadParameter(f"--startup {value!r}: choose one of {', '.join(choices)}")


@app.command()
def cancel(name: Name = None) -> None:
    """Cancel every running copy of the job; its last checkpoint is kept on disk."""
    settings = get_settings()
    name = name or settings.flink_job_name
    rest = FlinkRest(settings.flink_rest_url)
    jobs = rest.active_named(name)
    for job in jobs:
        rest.cancel(job.jid)
        rest.wait_state(job.jid, {"CANCELED"}, deadline_s=120)
        console.print(f"cancelled {name} ({job.jid})")
    if not jobs:
        console.print(f"no running job named {name}")


@app.command()
def status() -> None:
    """Jobs on the cluster, their last checkpoint, and what the features job dropped."""
    settings = get_settings()
    rest = FlinkRest(settings.flink_rest_url)
    table = Table(title=f"Flink jobs at {settings.flink_rest_url}")
    for col in ("name", "job id", "state", "checkpoints", "last checkpoint", "restored from"):
        table.add_column(col)
    for job in sorted(rest.jobs(), key=lambda j: -j.start_time_ms):
        checkpoints = ("-", "-", "-")
        if job.active:
            info = rest.checkpoints(job.jid)
            done = info.get("latest", {}).get("completed") or {}
            restored = info.get("latest", {}).get("restored") or {}
            checkpoints = (
                str(info["counts"]["completed"]),
                str(done.get("id", "-")),
                str(restored.get("id", "-")),
            )
        table.add_row(job.name, job.jid, job.state, *checkpoints)
    console.print(table)
    console.print(f"dropped by the features job: {dropped_counts(settings)}")


@app.command()
def exporter(
    rest_url: Annotated[
        str | None, typer.Option(help="Flink REST API (default: FLINK_REST_URL)")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="port (default: METRICS_PORT + its offset)")
    ] = None,
    host: Annotated[
        str, typer.Option(help="listen address (compose: 0.0.0.0 inside its network)")
    ] = "127.0.0.1",
) -> None:
    """Serve the cluster's job, checkpoint and backlog metrics for Prometheus on 127.0.0.1."""
    from streaming.flink.exporter import serve

    if rest_url is None or port is None:
        settings = get_settings()
        rest_url = rest_url or settings.flink_rest_url
        port = port or settings.metrics_ports["flink-exporter"]
    serve(rest_url, port, host)
