"""`adnomaly evaluate-series`: score `adnomaly detect` (or precomputed scores) on labelled
series by the Numenta Anomaly Benchmark's method, with one chart per series."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def evaluate_series(
    data: Annotated[Path, typer.Option("--data", help="folder of timestamp,value CSVs")],
    windows: Annotated[Path, typer.Option("--windows", help="JSON: file -> [[start, end]]")],
    scores: Annotated[
        Path | None,
        typer.Option("--scores", help="folder of precomputed score CSVs (anomaly_score column)"),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="the report as one JSON line")
    ] = False,
    out_dir: Annotated[Path, typer.Option(help="report.json + one PNG per series")] = Path(
        "reports/series"
    ),
    charts: Annotated[bool, typer.Option(help="one PNG per series")] = True,
) -> None:
    """Standard, reward_low_FP and reward_low_FN scores with one threshold over the set."""
    from streaming.detection.benchmark import evaluate
    from streaming.detection.benchmark_data import load
    from streaming.detection.csv_input import SeriesInputError
    from streaming.detection.series import score_series
    from streaming.detection.series_chart import series_charts

    started, cpu_started = time.monotonic(), _cpu_seconds()
    try:
        files = load(data, windows, lambda ts, v: score_series(ts, v)[0], scores)
    except SeriesInputError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    scored_s = time.monotonic() - started
    report: dict[str, Any] = evaluate(
        [f.labelled for f in files], {f.name: f.category for f in files}
    )
    report["files"] = len(files)
    report["rows"] = sum(len(f.timestamps) for f in files)
    report["source"] = str(scores) if scores else "adnomaly detect"
    if charts:
        threshold = report["standard"]["threshold"]
        series_charts(
            [
                (
                    f.timestamps,
                    f.values.iloc[:, 0].to_numpy(),
                    f.labelled,
                    threshold,
                    out_dir / (f.name.removesuffix(".csv") + ".png"),
                )
                for f in files
            ]
        )
    report["timing"] = {
        "scoring_s": round(scored_s, 2),
        "total_s": round(time.monotonic() - started, 2),
        "cpu_s": round(_cpu_seconds() - cpu_started, 2),  # what a busy machine cannot inflate
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    if json_output:
        print(orjson.dumps(report).decode())
        return
    _print(report, out_dir, charts)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the chart workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _print(report: dict[str, Any], out_dir: Path, charts: bool) -> None:
    title = f"{report['files']} series, {report['rows']} rows, scores from {report['source']}"
    table = Table(title=title)
    headers = ("profile", "score", "threshold", "windows caught", "events", "precision")
    for name in (*headers, "recall", "median delay (rows)"):
        table.add_column(name, justify="left" if name == "profile" else "right")
    profiles = ("standard", "reward_low_fp", "reward_low_fn")
    for name in profiles:
        p = report[name]
        table.add_row(
            name,
            f"{p['score']:.2f}",
            _fmt(p["threshold"], ".4g"),
            f"{p['windows_detected']}/{p['windows']}",
            str(p["events"]),
            _fmt(p["event_precision"]),
            _fmt(p["event_recall"]),
            _fmt(p["median_delay_rows"], ".0f"),
        )
    out = Console(width=None if Console().is_terminal else 150)
    out.print(table)
    per_category = Table(title="per category (own threshold / set threshold)")
    per_category.add_column("category")
    per_category.add_column("files", justify="right")
    per_category.add_column("windows", justify="right")
    for name in profiles:
        per_category.add_column(name, justify="right")
    for category, first in report["standard"]["categories"].items():
        cells = [
            f"{report[n]['categories'][category]['score']:.1f} / "
            f"{report[n]['categories'][category]['score_at_set_threshold']:.1f}"
            for n in profiles
        ]
        per_category.add_row(category, str(first["files"]), str(first["windows"]), *cells)
    out.print(per_category)
    timing = report["timing"]
    out.print(
        f"scored in {timing['scoring_s']} s, total {timing['total_s']} s "
        f"({timing['cpu_s']} s of CPU)"
    )
    out.print(f"report{' and charts' if charts else ''}: {out_dir}/")
