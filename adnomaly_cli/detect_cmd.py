"""`adnomaly detect` (any time-series CSV), `adnomaly detect-stream` (the online detector
service) and `adnomaly evaluate` (offline replay against the generator's fraud labels)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from streaming.settings import get_settings

# pandas, matplotlib and the detector load inside each command: every `adnomaly` process
# (each sink and service the supervisor starts) would otherwise pay seconds to import them.

console = Console(stderr=True)
_SHOWN = 10  # anomalous rows listed by `adnomaly detect`


def detect(
    input: Annotated[Path, typer.Option("--input", help="CSV: timestamp + numeric columns")],
    output: Annotated[Path, typer.Option("--output", help="the same rows + anomaly_score")],
) -> None:
    """Score every row of a time-series CSV using only that row and the rows before it."""
    import numpy as np

    from streaming.detection.csv_input import (
        SeriesInputError,
        numeric_columns,
        order_warning,
        parse_timestamps,
        read_csv,
        write_scored,
    )
    from streaming.detection.series import score_detail

    try:
        frame = read_csv(input)
        timestamps = parse_timestamps(frame)
        values = numeric_columns(frame)
    except SeriesInputError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    warning = order_warning(timestamps)
    if warning:
        typer.secho(f"warning: {input}: {warning}", fg=typer.colors.YELLOW, err=True)
    scores = score_detail(timestamps, values)
    write_scored(frame, scores.score, scores.is_anomaly, output)
    columns = ", ".join(map(str, values.columns))
    console.print(
        f"{len(frame)} rows, {int(scores.is_anomaly.sum())} anomalous (scored: {columns})"
    )
    for i in np.flatnonzero(scores.is_anomaly)[:_SHOWN]:
        console.print(
            f"  line {i + 2}: score {scores.score[i]:.3f}, "
            f"{scores.view[i]} view of {scores.column[i]!r}"
        )


def detect_stream(
    topic: Annotated[
        str | None, typer.Option(help="features topic (default FEATURES_TOPIC)")
    ] = None,
    anomalies_topic: Annotated[
        str | None, typer.Option(help="alerts topic (default ANOMALIES_TOPIC)")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="consumer group (default: DETECTOR_GROUP)")
    ] = None,
    instance_id: Annotated[str | None, typer.Option(help="static group member id")] = None,
    model_prefix: Annotated[
        str | None,
        typer.Option(help="model key prefix in MINIO_BUCKET [default: models/detector/]"),
    ] = None,
    reload_seconds: Annotated[float, typer.Option(help="check MinIO for a newer model")] = 30.0,
    max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
    idle_exit: Annotated[float | None, typer.Option(help="stop after this long idle")] = None,
) -> None:
    """Score the features stream into anomaly_results and the anomalies topic."""
    from streaming.detection.service import DetectorService
    from streaming.detection.store import MODEL_PREFIX, ModelWatcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    watcher = ModelWatcher(settings, reload_seconds, prefix=model_prefix or MODEL_PREFIX)
    service = DetectorService(
        settings,
        topic=topic,
        anomalies_topic=anomalies_topic,
        group_id=group,
        instance_id=instance_id,
        watcher=watcher,
    )
    service.run(max_seconds=max_seconds, idle_exit_s=idle_exit)


def evaluate(
    json_output: Annotated[
        bool, typer.Option("--json", help="the report as one JSON line")
    ] = False,
    out_dir: Annotated[Path, typer.Option(help="report.json + incident charts")] = Path(
        "reports/evaluation"
    ),
    seed: Annotated[int, typer.Option(help="simulated world and fraud schedule")] = 7,
    rate: Annotated[float, typer.Option(help="simulated clicks/s over all segments")] = 8.0,
    train_days: Annotated[int, typer.Option(help="history to train on")] = 7,
    eval_days: Annotated[int, typer.Option(help="days replayed with and without fraud")] = 3,
    charts: Annotated[bool, typer.Option(help="a PNG per detected incident")] = True,
) -> None:
    """Replay generated traffic: per-scenario precision/recall/F1/delay, clean false alarms."""
    from streaming.detection.evaluate import EvaluationSpec, run_evaluation

    spec = EvaluationSpec(seed=seed, rate_eps=rate, train_days=train_days, eval_days=eval_days)
    with console.status("replaying simulated traffic (about a minute)"):
        report = run_evaluation(spec, out_dir=out_dir, charts=charts)
    if json_output:
        print(orjson.dumps(report).decode())
        return
    _print(report, out_dir)


def _print(report: dict[str, Any], out_dir: Path) -> None:
    table = Table(title=f"detection evaluation (model {report['model_version']})")
    for name in ("scenario", "incidents", "recall", "precision", "F1", "median delay (slides)"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    rows = [*report["scenarios"].items(), ("overall", report["overall"])]
    for name, s in rows:
        delay = s["median_delay_slides"]
        table.add_row(
            name,
            str(s["incidents"]),
            f"{s['recall']:.2f}",
            f"{s['precision']:.2f}",
            f"{s['f1']:.2f}",
            "-" if delay is None else f"{delay:.2f}",
        )
    Console().print(table)
    clean = report["clean"]
    Console().print(
        f"clean traffic: {clean['alerts']} alert(s) in {clean['days']} simulated day(s) = "
        f"{clean['false_alarms_per_day']} false alarms/day"
    )
    for target in report["targets"].values():
        Console().print(
            f"{'met ' if target['met'] else 'MISSED'} {target['target']}: {target['value']}"
        )
    Console().print(f"report and charts: {out_dir}/")
