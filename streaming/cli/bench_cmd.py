"""`adnomaly bench <name> --json`: throughput next to its limit measured in the same run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from streaming.bench.common import report
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console(stderr=True)

Json = Annotated[bool, typer.Option("--json", help="one JSON object on the last stdout line")]
Runs = Annotated[int, typer.Option(min=1, help="runs; the medians are reported")]


@app.command()
def producer(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 300_000,
) -> None:
    """Generated + validated + acked events/s vs raw produce of the same bytes."""
    from streaming.bench.producer import bench_producer

    with console.status("benchmarking the producer…"):
        result = bench_producer(get_settings(), events, runs)
    report(result, as_json, console)


@app.command("db-sink")
def db_sink(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 200_000,
) -> None:
    """Pre-filled topic → PostgreSQL events/s vs raw COPY of the same rows from a file."""
    from streaming.bench.sinks import bench_db_sink

    with console.status("benchmarking the db sink…"):
        result = bench_db_sink(get_settings(), events, runs)
    report(result, as_json, console)


@app.command("lake-sink")
def lake_sink(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 300_000,
) -> None:
    """Pre-filled topic → MinIO events/s vs raw put of the same objects."""
    from streaming.bench.sinks import bench_lake_sink

    with console.status("benchmarking the lake sink…"):
        result = bench_lake_sink(get_settings(), events, runs)
    report(result, as_json, console)
