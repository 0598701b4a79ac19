"""`make bench`: every benchmark in one go, written to BENCHMARKS.md with a chart, so a reader
sees each figure next to its limit (measured in the same run) at a glance. The soak measures no
limit: its row shows the rate it was asked to hold as its target, and no limit or ratio."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from adnomaly_ops.bench.common import BenchResult
from streaming.settings import PROJECT_ROOT, Settings

Bench = Callable[[Settings, int], BenchResult]


def suite() -> dict[str, Bench]:
    """Name → runner(settings, runs); imports are lazy since some pull in heavy modules."""
    from adnomaly_ops.bench.capacity import capacity_of
    from adnomaly_ops.bench.flink import bench_flink
    from adnomaly_ops.bench.latency import bench_latency
    from adnomaly_ops.bench.online import bench_online
    from adnomaly_ops.bench.producer import bench_producer
    from adnomaly_ops.bench.sinks import bench_db_sink, bench_lake_sink
    from adnomaly_ops.bench.soak import bench_soak

    return {
        "producer": lambda s, r: bench_producer(s, 300_000, r),
        "db-sink": lambda s, r: bench_db_sink(s, 200_000, r),
        "lake-sink": lambda s, r: bench_lake_sink(s, 300_000, r),
        "latency": lambda s, r: bench_latency(s, 10_000, 30),
        "flink": lambda s, r: bench_flink(s, 1_000_000, r, 5_000, 45),
        "online": lambda s, r: bench_online(s, r, 50_000, 2_000),
        # the running pipeline end to end (needs `make up`); one long run, not a median
        "soak": lambda s, r: bench_soak(s, 10, 10_000),
        # the whole pipeline of each profile: the running stack's, and a stack of the other
        # profile that the bench starts beside it (adnomaly_ops.bench.profiles)
        "capacity": lambda s, r: capacity_of(s, "single", r),
        "capacity-ha": lambda s, r: capacity_of(s, "ha", r),
    }


def _row(r: BenchResult) -> str:
    target = f"{r.target_eps:,.0f}" if r.target_eps else "-"
    limit = "-" if r.limit_eps is None else f"{r.limit_eps:,.0f}"
    ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
    latency = ", ".join(
        f"{k} {v:,.1f}" for k, v in r.extra.items() if k.endswith("_ms") and isinstance(v, float)
    )
    return (
        f"| {r.name} | {r.throughput_eps:,.0f} | {limit} | {ratio} | {target} "
        f"| {len(r.runs)} | {latency or '-'} |"
    )


def chart(results: list[BenchResult], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(results) + 1.5))
    names = [r.name for r in results]
    ys = range(len(results))
    limits = [(y, r.limit_eps) for y, r in zip(ys, results, strict=True) if r.limit_eps]
    ax.barh([y + 0.2 for y, _ in limits], [v for _, v in limits], 0.4, label="limit", color="#bbb")
    ax.barh([y - 0.2 for y in ys], [r.throughput_eps for r in results], 0.4, label="Adnomaly")
    for y, r in zip(ys, results, strict=True):
        label = f" {r.ratio:.2f}x" if r.ratio is not None else " (no limit measured)"
        ax.text(r.throughput_eps, y - 0.2, label, va="center", fontsize=8)
    ax.set_yticks(list(ys), names)
    ax.set_xscale("log")
    ax.set_xlabel("events (or rows) per second, log scale; label: ratio to the limit")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


RESULTS = PROJECT_ROOT / "benchmarks.json"


def _stored() -> dict[str, dict[str, Any]]:
    try:
        return {r["name"]: r for r in json.loads(RESULTS.read_text())}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _from_stored(d: dict[str, Any]) -> BenchResult:
    return BenchResult(
        d["name"],
        d["throughput_eps"],
        d.get("limit_eps"),
        d["runs"],
        d.get("target_eps"),
        d.get("extra", {}),
    )


def write_markdown(results: list[BenchResult], failures: dict[str, str]) -> Path:
    """Merge this run's results into benchmarks.json (a benchmark not run now keeps its last
    figure and date) and write BENCHMARKS.md and the chart from all of them."""
    now = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    stored = _stored()
    for r in results:
        stored[r.name] = {
            "name": r.name,
            "throughput_eps": r.throughput_eps,
            "limit_eps": r.limit_eps,
            "runs": r.runs,
            "target_eps": r.target_eps,
            "extra": r.extra,
            "date": now,
        }
    order = list(suite())
    names = sorted(stored, key=lambda n: order.index(n) if n in order else len(order))
    RESULTS.write_text(json.dumps([stored[n] for n in names], indent=1, default=str) + "\n")
    merged = [_from_stored(stored[n]) for n in names]
    dates = {n: stored[n].get("date", "?") for n in names}
    out = PROJECT_ROOT / "BENCHMARKS.md"
    chart(merged, PROJECT_ROOT / "benchmarks.png")
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Medians of the runs; every limit is measured in the same "
        "run (`adnomaly bench <name> --json`); the soak measures none, its target is the rate it "
        "was asked to hold. Regenerate with `make bench` "
        '(`ARGS="--only producer,db-sink"` re-measures some and keeps the others).',
        "",
        "![ours vs limit](benchmarks.png)",
        "",
        "| benchmark | ours (/s) | limit (/s) | ratio | target (/s) | runs | latencies (ms) "
        "| measured |",
        "|---|---|---|---|---|---|---|---|",
        *(f"{_row(r)} {dates[r.name]} |" for r in merged),
    ]
    for r in merged:
        if r.name.startswith("capacity"):
            lines += ["", *capacity_section(r, dates[r.name])]
    soak = next((r for r in merged if r.name == "soak"), None)
    if soak is not None:
        lines += ["", *soak_section(soak)]
    if failures:
        lines += ["", "Failed in this run:", *(f"- {n}: {e}" for n, e in failures.items())]
    out.write_text("\n".join(lines) + "\n")
    return out


def soak_section(result: BenchResult) -> list[str]:
    x = result.extra
    drained = x["lag_zero_after_s"]
    lines = [
        f"## Soak: {result.target_eps:,.0f} events/s for {x['minutes']:g} minutes",
        "",
        f"Produced {x['produced']:,} ({x['produced_eps']:,}/s), stored in PostgreSQL "
        f"{x['stored_postgres']:,}. Consumer lag (all groups, Flink's included) max "
        f"{x['lag_max']:,}; back to zero {f'{drained:.1f} s' if drained is not None else 'NEVER'} "
        f"after the load stopped (target ≤ {x['drain_target_s']:.0f} s). Produce→PostgreSQL "
        f"p50 {x['p50_ms']:,.0f} ms, p99 {x['p99_ms']:,.0f} ms.",
        "",
        "![soak](soak.png)",
        "",
        f"Memory (PSS of each service's process tree, MiB); bound: {x['memory_bound']}.",
        "",
        "| service | before load | after warm-up | end | growth | within bound |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in x["memory_mib"].items():
        lines.append(
            f"| {name} | {m['start']:,.0f} | {m['warm']:,.0f} | {m['end']:,.0f} "
            f"| {m['growth']:+,.0f} | {'yes' if m['ok'] else 'NO'} |"
        )
    return lines


def capacity_section(result: BenchResult, measured: str) -> list[str]:
    """The capacity of one profile: the runs, the CPU per event of each service at the median
    run's sustained rate, and its chart."""
    x = result.extra
    runs = ", ".join(
        f"{r['ours_eps']:,.0f}" + (f" (limit {r['limit_eps']:,.0f})" if r.get("limit_eps") else "")
        for r in result.runs
    )
    cpu = x.get("cpu_us_per_event_at_throughput", {})
    shown = {k: v for k, v in cpu.items() if v >= 0.5}
    lines = [
        f"## Capacity, {x.get('profile', '?')} profile ({measured})",
        "",
        f"Sustained events/s per run: {runs}; median {result.throughput_eps:,.0f}. The median "
        f"run held {x.get('sustained_rate') or 0:,} events/s offered with produce→PostgreSQL p99 "
        f"{x.get('p99_ms_at_throughput') or 0:,.0f} ms and stopped at: "
        f"{x.get('stopped_because', '?')}. Machine busy at that rate: "
        f"{(x.get('machine_busy_at_throughput') or 0):.0%}.",
        "",
        f"CPU µs per event there, {sum(cpu.values()):.1f} in all: "
        + ", ".join(f"{k} {v:.1f}" for k, v in shown.items())
        + ".",
    ]
    chart = Path(str(x.get("chart", "")))
    if chart.name:
        lines += ["", f"![{result.name}]({chart.name})"]
    return lines
