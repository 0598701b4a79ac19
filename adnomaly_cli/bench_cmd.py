"""`adnomaly bench <name> --json`: throughput next to its limit measured in the same run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from adnomaly_ops.bench.common import report
from streaming.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console(stderr=True)

Json = Annotated[bool, typer.Option("--json", help="one JSON object on the last stdout line")]
Runs = Annotated[int, typer.Option(min=1, help="runs; the medians are reported")]


def _bench_settings() -> Settings:
    """Benchmarks use topics and tables of their own, which no service principal or role is
    granted: their clients (and the Flink jobs they submit) act as Kafka's admin and the
    schema owner unless KAFKA_PRINCIPAL / DB_ROLE say otherwise. Supervised services still
    act as themselves."""
    settings = get_settings()
    return settings.model_copy(
        update={
            "kafka_principal": settings.kafka_principal or "admin",
            "db_role": settings.db_role or "owner",
        }
    )


@app.command()
def producer(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 300_000,
) -> None:
    """Generated + validated + acked events/s vs raw produce of the same bytes."""
    from adnomaly_ops.bench.producer import bench_producer

    with console.status("benchmarking the producer…"):
        result = bench_producer(_bench_settings(), events, runs)
    report(result, as_json, console)


@app.command("db-sink")
def db_sink(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 200_000,
) -> None:
    """Pre-filled topic → PostgreSQL events/s vs raw COPY of the same rows from a file."""
    from adnomaly_ops.bench.sinks import bench_db_sink

    with console.status("benchmarking the db sink…"):
        result = bench_db_sink(_bench_settings(), events, runs)
    report(result, as_json, console)


@app.command("lake-sink")
def lake_sink(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events per run")] = 300_000,
) -> None:
    """Pre-filled topic → MinIO events/s vs raw put of the same objects."""
    from adnomaly_ops.bench.sinks import bench_lake_sink

    with console.status("benchmarking the lake sink…"):
        result = bench_lake_sink(_bench_settings(), events, runs)
    report(result, as_json, console)


@app.command()
def flink(
    as_json: Json = False,
    runs: Runs = 3,
    events: Annotated[int, typer.Option(min=10_000, help="events in the topic")] = 1_000_000,
    live_rate: Annotated[float, typer.Option(help="events/s while delays are measured")] = 5_000,
    live_seconds: Annotated[float, typer.Option(help="seconds of live events per run")] = 45,
) -> None:
    """Features job events/s on one slot vs the same source into a blackhole, and the delay
    from the watermark passing a window's end to its row in the features topic (p50/p99)."""
    from adnomaly_ops.bench.flink import bench_flink

    with console.status("benchmarking the Flink features job…"):
        result = bench_flink(_bench_settings(), events, runs, live_rate, live_seconds)
    extra = result.extra
    console.print(
        f"emission delay p50 {extra['p50_ms']:,.0f} ms, p99 {extra['p99_ms']:,.0f} ms "
        f"(target p99 ≤ {extra['target_p99_ms']:,} ms) at {live_rate:,.0f} events/s"
    )
    report(result, as_json, console)


@app.command()
def latency(
    as_json: Json = False,
    rate: Annotated[float, typer.Option(help="events/s the live generator holds")] = 10_000,
    seconds: Annotated[float, typer.Option(help="how long the generator runs")] = 30,
) -> None:
    """Produce→PostgreSQL latency (p50/p99) at a steady rate vs bare Kafka delivery."""
    from adnomaly_ops.bench.latency import bench_latency

    with console.status(f"measuring produce→PostgreSQL latency at {rate:,.0f} events/s…"):
        result = bench_latency(_bench_settings(), rate, seconds)
    extra = result.extra
    console.print(
        f"produce→PostgreSQL p50 {extra['p50_ms']} ms, p99 {extra['p99_ms']} ms "
        f"(bare Kafka p50 {extra['limit_p50_ms']} ms, p99 {extra['limit_p99_ms']} ms) over "
        f"{extra['events']:,} events at {result.throughput_eps:,.0f} events/s"
    )
    if as_json:
        import json

        print(json.dumps(result.as_dict()))


@app.command()
def online(
    as_json: Json = False,
    runs: Runs = 3,
    rows: Annotated[int, typer.Option(min=1_000, help="feature rows ingested per run")] = 50_000,
    samples: Annotated[int, typer.Option(min=200, help="1-row reads per run (/10 for 100)")] = 2000,
) -> None:
    """Feast online: get_online_features p50/p99 (1 and 100 rows) vs raw Redis reads of the
    same keys; ingestor rows/s vs a raw consume of the same topic."""
    from rich.table import Table

    from adnomaly_ops.bench.online import bench_online

    with console.status("benchmarking the Feast online store…"):
        result = bench_online(_bench_settings(), runs, rows, samples)
    table = Table(title="get_online_features latency, ms (median of runs)")
    for col in ("entity rows", "p50", "p99", "raw Redis p50", "raw Redis p99"):
        table.add_column(col, justify="right")
    for n in (1, 100):
        keys = ("p50_ms", "p99_ms", "limit_p50_ms", "limit_p99_ms")
        table.add_row(str(n), *(f"{result.extra[f'{k}_{n}']:.2f}" for k in keys))
    console.print(table)
    report(result, as_json, console)


@app.command()
def soak(
    as_json: Json = False,
    minutes: Annotated[float, typer.Option(min=0.5, help="minutes of load")] = 10,
    rate: Annotated[float, typer.Option(min=1, help="events/s held end to end")] = 10_000,
) -> None:
    """The whole running pipeline at RATE events/s for MINUTES: consumer lag (max, end, time to
    drain), produce→PostgreSQL p50/p99 and the memory of every service over time."""
    from rich.table import Table

    from adnomaly_ops.bench.soak import bench_soak
    from adnomaly_ops.chaos.pipeline import PipelineError

    try:
        result = bench_soak(
            _bench_settings(), minutes, rate, say=lambda m: console.print(f"[dim]{m}")
        )
    except PipelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    x = result.extra
    table = Table(title="memory of every service, MiB (PSS of its process tree)")
    for col in ("service", "before load", "after warm-up", "end", "growth", "within bound"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for name, m in x["memory_mib"].items():
        table.add_row(
            name,
            f"{m['start']:,.0f}",
            f"{m['warm']:,.0f}",
            f"{m['end']:,.0f}",
            f"{m['growth']:+,.0f}",
            "yes" if m["ok"] else "[red]NO",
        )
    console.print(table)
    drained = x["lag_zero_after_s"]
    console.print(
        f"held {x['produced_eps']:,} events/s produced, {result.throughput_eps:,.0f}/s stored in "
        f"PostgreSQL ({x['stored_postgres']:,} of {x['produced']:,}); lag max {x['lag_max']:,}, "
        f"zero {('after ' + format(drained, '.1f') + ' s') if drained is not None else 'NEVER'} "
        f"(target ≤ {x['drain_target_s']:.0f} s); produce→PostgreSQL p50 {x['p50_ms']:,.0f} ms, "
        f"p99 {x['p99_ms']:,.0f} ms; memory bound: {x['memory_bound']}; chart {x['chart']}"
    )
    if as_json:
        import json

        print(json.dumps(result.as_dict()))
    if not (x["drain_ok"] and x["memory_ok"] and x["stored_postgres"] == x["produced"]):
        raise typer.Exit(1)


@app.command()
def capacity(
    as_json: Json = False,
    start: Annotated[float, typer.Option(min=1, help="events/s of the first step")] = 5_000,
    step: Annotated[float, typer.Option(min=1, help="events/s added each step")] = 5_000,
    max_eps: Annotated[float, typer.Option(min=1, help="highest rate tried")] = 80_000,
    step_seconds: Annotated[float, typer.Option(min=10, help="seconds of load per step")] = 40,
    max_minutes: Annotated[float, typer.Option(min=1, help="bound on the whole run")] = 20,
) -> None:
    """The whole pipeline at rising rates until it stops keeping up (lag grows through a step,
    or produce→PostgreSQL p99 > 1 s): the highest sustained rate, each service's CPU share at
    it, and a chart (rate, lag, p99 per step)."""
    from rich.table import Table

    from adnomaly_ops.bench.capacity import bench_capacity
    from adnomaly_ops.chaos.pipeline import PipelineError

    try:
        result = bench_capacity(
            _bench_settings(),
            start_eps=start,
            step_eps=step,
            max_eps=max_eps,
            step_s=step_seconds,
            max_minutes=max_minutes,
            say=lambda m: console.print(f"[dim]{m}"),
        )
    except PipelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    x = result.extra
    table = Table(title=f"capacity steps ({x['profile']} profile)")
    columns = ("offered/s", "delivered/s", "stored/s", "p99 ms", "lag growth", "CPU µs/event")
    for col in (*columns, "verdict"):
        table.add_column(col, justify="left" if col == "verdict" else "right")
    for s in x["steps"]:
        growth = max(s["lag_growth"].values(), default=0)
        table.add_row(
            f"{s['rate']:,}",
            f"{s['produced_eps']:,}",
            f"{s['stored_eps']:,}",
            f"{s['p99_ms']:,.0f}",
            f"{growth:,}",
            f"{sum(s['cpu_us_per_event'].values()):,.0f}",
            s["verdict"],
        )
    console.print(table)
    limit = f"{result.limit_eps:,.0f}/s" if result.limit_eps else x["limit_is"]
    console.print(
        f"sustained {result.throughput_eps:,.0f} events/s; fell behind at {limit}; CPU share at "
        f"the sustained rate: {x['cpu_share_at_throughput']}; CPU µs per event there: "
        f"{x['cpu_us_per_event_at_throughput']}; chart {x['chart']}"
    )
    if as_json:
        import json

        print(json.dumps(result.as_dict()))


@app.command("all")
def all_benchmarks(
    runs: Runs = 3,
    only: Annotated[
        str | None, typer.Option(help="comma-separated subset, e.g. producer,db-sink")
    ] = None,
) -> None:
    """Every benchmark (medians of runs, each with its limit) → BENCHMARKS.md + benchmarks.png."""
    from adnomaly_ops.bench.common import BenchResult
    from adnomaly_ops.bench.report import suite, write_markdown

    benches = suite()
    wanted = only.split(",") if only else list(benches)
    unknown = set(wanted) - set(benches)
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s) {sorted(unknown)}; known: {list(benches)}")
    results: list[BenchResult] = []
    failures: dict[str, str] = {}
    for name in wanted:
        with console.status(f"bench {name} ({runs} runs)…"):
            try:
                result = benches[name](_bench_settings(), runs)
            except Exception as exc:  # noqa: BLE001 (one failing bench must not hide the others)
                failures[name] = f"{type(exc).__name__}: {exc}"
                console.print(f"[red]bench {name} failed: {exc}")
                continue
        report(result, False, console)
        results.append(result)
    path = write_markdown(results, failures)
    console.print(f"wrote {path}")
    raise typer.Exit(1 if failures else 0)
