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
