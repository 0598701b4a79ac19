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


@app.command()
def latency(
    as_json: Json = False,
    rate: Annotated[float, typer.Option(help="events/s the live generator holds")] = 10_000,
    seconds: Annotated[float, typer.Option(help="how long the generator runs")] = 30,
) -> None:
    """Produce→PostgreSQL latency (p50/p99) at a steady rate vs bare Kafka delivery."""
    from streaming.bench.latency import bench_latency

    with console.status(f"measuring produce→PostgreSQL latency at {rate:,.0f} events/s…"):
        result = bench_latency(get_settings(), rate, seconds)
    extra = result.extra
    console.print(
        f"produce→PostgreSQL p50 {extra['p50_ms']} ms, p99 {extra['p99_ms']} ms "
        f"(bare Kafka p50 {extra['limit_p50_ms']} ms, p99 {extra['limit_p99_ms']} ms) over "
        f"{extra['events']:,} events at {result.throughput_eps:,.0f} events/s"
    )
    if as_json:
        import json

        print(json.dumps(result.as_dict()))
