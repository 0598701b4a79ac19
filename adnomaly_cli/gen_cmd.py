"""`adnomaly gen`: live traffic at EVENTS_PER_SEC, back-dated history, or a burst."""

from __future__ import annotations

import logging
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from streaming.generator import TrafficGenerator
from streaming.metrics import serve
from streaming.producer import ClickProducer, DeliveryError, DeliveryStats
from streaming.settings import get_settings

console = Console(stderr=True)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '30d', '52w' → timedelta; anything else is a clear error."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 15m, 6h, 30d, 52w")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


def gen(
    seed: Annotated[int, typer.Option(help="RNG seed: same seed, same traffic")] = 7,
    rate: Annotated[
        float | None, typer.Option(help="live events/s (default EVENTS_PER_SEC)")
    ] = None,
    duration: Annotated[str | None, typer.Option(help="live: stop after e.g. 10m")] = None,
    history: Annotated[
        str | None, typer.Option(help="back-dated span ending now, e.g. 30d")
    ] = None,
    history_rate: Annotated[float, typer.Option(help="simulated mean events/s of history")] = 2.0,
    burst: Annotated[int | None, typer.Option(help="produce N events as fast as possible")] = None,
    no_fraud: Annotated[
        bool, typer.Option("--no-fraud", help="clean traffic, no incidents")
    ] = False,
    incidents_per_day: Annotated[float, typer.Option(help="fraud incidents per sim. day")] = 4.0,
    topic: Annotated[str | None, typer.Option(help="target topic (default TOPIC)")] = None,
) -> None:
    """Produce clickstream events (with labelled fraud) into Kafka."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    serve(settings, "generator")
    if sum(x is not None for x in (history, burst)) > 1:
        raise typer.BadParameter("choose one of --history and --burst")
    if rate is not None and rate <= 0:
        raise typer.BadParameter(f"--rate must be > 0, got {rate}")
    generator = TrafficGenerator(
        seed,
        settings.hash_salt.get_secret_value(),
        fraud=not no_fraud,
        incidents_per_day=incidents_per_day,
    )
    producer = ClickProducer(settings, topic)
    started = time.monotonic()
    if history:
        _history(generator, producer, parse_duration(history), history_rate)
    elif burst is not None:
        now = datetime.now(UTC)
        span = timedelta(seconds=max(burst / settings.events_per_sec, 1))
        producer.send_batch(generator.batch(burst, now - span, now))
    else:
        stop_after = parse_duration(duration).total_seconds() if duration else None
        _live(generator, producer, rate or settings.events_per_sec, stop_after)
    try:
        stats = producer.flush()
    except DeliveryError as exc:
        _report(producer.stats, time.monotonic() - started)
        console.print(f"[red]delivery failures: {exc}")
        raise typer.Exit(1) from exc
    _report(stats, time.monotonic() - started)


def _history(gen: TrafficGenerator, producer: ClickProducer, span: timedelta, rate: float) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - span
    total_s = span.total_seconds()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(
        *columns,
        TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(
            f"history {start:%Y-%m-%d} → {end:%Y-%m-%d}", total=int(total_s), events=0
        )
        for batch in gen.events_between(start, end, base_rate_eps=rate):
            producer.send_batch(batch)
            sim_s = int(batch.ts_ms[-1] / 1000 - start.timestamp())
            bar.update(task, completed=min(sim_s, int(total_s)), events=producer.stats.produced)
        bar.update(task, completed=int(total_s), events=producer.stats.produced)


def _live(
    gen: TrafficGenerator, producer: ClickProducer, rate: float, stop_after: float | None
) -> None:
    """Paced against the start time, not per tick, so the long-run rate never drifts."""
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # a batch per tick: each batch has a fixed cost (the contract check, the arrow calls that
    # write its bytes), so ticks of 100 events cost 2.4x the CPU per event of 50 ms ticks at
    # 25,000 events/s; 50 ms adds at most that to an event's latency
    tick_s = 0.05
    t0 = time.monotonic()
    sent = 0
    last_report = t0
    while not stopping:
        tick_start = time.monotonic()
        elapsed = tick_start - t0
        if stop_after is not None and elapsed >= stop_after:
            break
        due = int(rate * elapsed) - sent
        if due > 0:
            batch = gen.batch_for_now(due, span=timedelta(seconds=max(due / rate, 0.001)))
            producer.send_batch(batch)
            sent += due
        if time.monotonic() - last_report >= 10:
            stats = producer.stats
            console.print(
                f"live: {sent:,} organic events, {stats.acked:,} acked, "
                f"{stats.failed} failed, {stats.labels} incidents"
            )
            last_report = time.monotonic()
        # serve delivery reports until the next tick (poll returns early when it served some)
        next_tick = max(tick_start + tick_s, t0 + (sent + 1) / rate)
        if stop_after is not None:
            next_tick = min(next_tick, t0 + stop_after)
        while not stopping and (left := next_tick - time.monotonic()) > 0:
            producer.producer.poll(left)


def _report(stats: DeliveryStats, seconds: float) -> None:
    table = Table(title="generator")
    for col in ("produced", "acked", "failed", "incidents", "seconds", "events/s"):
        table.add_column(col, justify="right")
    eps = stats.acked / seconds if seconds else 0.0
    table.add_row(
        f"{stats.produced:,}",
        f"{stats.acked:,}",
        str(stats.failed),
        str(stats.labels),
        f"{seconds:.1f}",
        f"{eps:,.0f}",
    )
    console.print(table)
