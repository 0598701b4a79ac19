"""Detection: the model of normal trained from the stored features and kept in MinIO (where the
running detector picks it up without a restart), and the evaluation of that stored model.

Only the detection package's public entry points are used (train, store, evaluate), so its
internals can change without touching this code location.
"""

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from psycopg import sql

from adnomaly_dagster.resources import PostgresResource, S3Resource
from adnomaly_dagster.tables import markdown_table
from streaming.feature_contract import FEATURE_NAMES
from streaming.settings import PROJECT_ROOT

GROUP = "detection"
REPORT_DIR = PROJECT_ROOT / "reports" / "evaluation"


class TrainingConfig(dg.Config):
    history_days: int = 14


@dg.asset(
    group_name=GROUP,
    kinds={"python", "s3"},
    deps=["feature_aggregates"],
    description="Model of normal traffic per (geo, platform): weekly shape, robust statistics and "
    "a robust covariance, trained on the last `history_days` of feature_aggregates; versioned "
    "in MinIO (models/detector/); a new version starts as challenger (the champion keeps "
    "alerting) until model_comparison or `adnomaly model promote` promotes it.",
)
def fraud_model(
    config: TrainingConfig, postgres: PostgresResource, s3: S3Resource
) -> dg.MaterializeResult:
    from streaming.detection import save_model, train
    from streaming.detection.store import register_version

    since = datetime.now(UTC) - timedelta(days=config.history_days)
    columns = ["geo", "platform", "window_start", "window_end", *FEATURE_NAMES]
    with postgres.connect() as conn:
        query = sql.SQL("SELECT {} FROM feature_aggregates WHERE window_end >= %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        frame = pd.DataFrame(conn.execute(query, (since,)).fetchall(), columns=columns)
    if frame.empty:
        raise dg.Failure(
            description=f"no feature rows in the last {config.history_days} days: run the "
            "pipeline (make demo) or back-fill history (make gen ARGS='--history 7d')"
        )
    for col in FEATURE_NAMES:
        frame[col] = frame[col].astype(float)
    model = train(frame)
    key = save_model(model, s3.settings(), client=s3.client())
    role = register_version(model.version, s3.settings(), client=s3.client())
    return dg.MaterializeResult(
        metadata={
            "version": dg.MetadataValue.text(model.version),
            "role": dg.MetadataValue.text(role),
            "object": dg.MetadataValue.text(f"s3://{s3.bucket}/{key}"),
            "trained_rows": dg.MetadataValue.int(int(model.trained_rows)),
            "segments": dg.MetadataValue.int(len(model.segments)),
            "history_start": dg.MetadataValue.text(f"{frame['window_end'].min()}"),
            "history_end": dg.MetadataValue.text(f"{frame['window_end'].max()}"),
        }
    )


def _scenario_rows(report: dict[str, Any]) -> list[tuple[object, ...]]:
    keys = ("incidents", "detected", "precision", "recall", "f1", "median_delay_slides")
    scenarios = {**report["scenarios"], "overall": report["overall"]}
    return [(name, *(s.get(k) for k in keys)) for name, s in scenarios.items()]


def _charts_markdown(report: dict[str, Any], limit: int = 4) -> str:
    """Charts inline (data URIs), so the UI shows them without access to the report dir."""
    parts = []
    for row in [r for r in report["incidents"] if r.get("chart")][:limit]:
        png = base64.b64encode(Path(row["chart"]).read_bytes()).decode()
        title = f"**{row['scenario']}** {row['incident_id']}"
        parts.append(f"{title}\n\n![chart](data:image/png;base64,{png})")
    return "\n\n".join(parts) or "no incident detected"


@dg.asset(
    group_name=GROUP,
    kinds={"python"},
    deps=[fraud_model],
    description="Evaluates the stored fraud_model (the newest version in MinIO, the one the "
    "detector runs): replays generated traffic with every fraud scenario, and clean traffic, "
    "through it; precision, recall, F1 and detection delay per scenario, false alarms per "
    "simulated day, and a chart per detected incident (reports/evaluation/).",
    check_specs=[
        dg.AssetCheckSpec(
            "evaluation_targets_met",
            asset="detection_evaluation",
            description="Overall F1, worst scenario recall, median delay and false alarms per "
            "day meet the evaluation's targets (streaming/detection/evaluate.py).",
        )
    ],
)
def detection_evaluation(s3: S3Resource) -> dg.MaterializeResult:
    from streaming.detection.evaluate import run_evaluation
    from streaming.detection.store import load_champion_model

    # the champion: the version the running detector alerts with (a new one starts challenger)
    model = load_champion_model(s3.settings(), client=s3.client())
    if model is None:
        raise dg.Failure(description="no stored model: materialize fraud_model first")
    report = run_evaluation(out_dir=REPORT_DIR, model=model)
    header = ["scenario", "incidents", "detected", "precision", "recall", "f1", "median delay"]
    targets = [(t["target"], t["value"], t["met"]) for t in report["targets"].values()]
    check = dg.AssetCheckResult(
        check_name="evaluation_targets_met",
        passed=bool(report["targets_met"]),
        metadata={
            "targets": dg.MetadataValue.md(markdown_table(["target", "value", "met"], targets))
        },
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": dg.MetadataValue.text(model.version),
            "f1": dg.MetadataValue.float(float(report["overall"]["f1"])),
            "false_alarms_per_day": dg.MetadataValue.float(
                float(report["clean"]["false_alarms_per_day"])
            ),
            "scenarios": dg.MetadataValue.md(markdown_table(header, _scenario_rows(report))),
            "report": dg.MetadataValue.path(str(REPORT_DIR / "report.json")),
            "charts": dg.MetadataValue.md(_charts_markdown(report)),
        },
        check_results=[check],
    )
