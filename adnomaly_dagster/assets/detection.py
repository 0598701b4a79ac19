"""Detection: the model of normal trained from the offline features, stored in MinIO where the
running detector picks it up without a restart, and the evaluation report with its charts."""

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from psycopg import sql

from adnomaly_dagster.assets.ingest import FEATURE_AGGREGATES
from adnomaly_dagster.constants import DETECTION
from adnomaly_dagster.resources import PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.feature_contract import FEATURE_NAMES
from streaming.settings import PROJECT_ROOT, load_settings

REPORT_DIR = PROJECT_ROOT / "reports" / "evaluation"


class TrainingConfig(dg.Config):
    history_days: int = 14


@dg.asset(
    group_name=DETECTION,
    kinds={"python", "s3"},
    deps=[FEATURE_AGGREGATES],
    description="Model of normal traffic per (geo, platform): weekly shape, robust statistics and "
    "a robust covariance, trained on the last `history_days` of feature_aggregates; versioned "
    "in MinIO (models/), where the running detector loads the newest one.",
)
def fraud_model(config: TrainingConfig, postgres: PostgresResource) -> dg.MaterializeResult:
    from streaming.detection.store import save_model
    from streaming.detection.train import train

    since = datetime.now(UTC) - timedelta(days=config.history_days)
    columns = ["geo", "platform", "window_start", "window_end", *FEATURE_NAMES]
    with postgres.connect() as conn:
        query = sql.SQL("SELECT {} FROM feature_aggregates WHERE window_end >= %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        cur = conn.execute(query, (since,))
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    if frame.empty:
        raise dg.Failure(
            description=f"no feature rows in the last {config.history_days} days: run the "
            "pipeline (make demo) or back-fill history (make gen ARGS='--history 7d')"
        )
    for col in FEATURE_NAMES:
        frame[col] = frame[col].astype(float)
    model = train(frame)
    key = save_model(model, load_settings())
    return dg.MaterializeResult(
        metadata={
            "version": dg.MetadataValue.text(model.version),
            "object": dg.MetadataValue.text(key),
            "trained_rows": dg.MetadataValue.int(int(model.trained_rows)),
            "history_start": dg.MetadataValue.text(f"{frame['window_end'].min()}"),
            "history_end": dg.MetadataValue.text(f"{frame['window_end'].max()}"),
        }
    )


def _scenario_rows(report: dict[str, Any]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for name, s in {**report["scenarios"], "overall": report["overall"]}.items():
        rows.append(
            (
                name,
                s.get("incidents"),
                s.get("detected"),
                s.get("precision"),
                s.get("recall"),
                s.get("f1"),
                s.get("median_delay_slides"),
            )
        )
    return rows


def _charts_markdown(report: dict[str, Any], limit: int = 4) -> str:
    """Charts inline (data URIs), so the UI shows them without access to the report dir."""
    parts = []
    for row in [r for r in report["incidents"] if r.get("chart")][:limit]:
        png = base64.b64encode(Path(row["chart"]).read_bytes()).decode()
        title = f"**{row['scenario']}** {row['incident_id']}"
        parts.append(f"{title}\n\n![chart](data:image/png;base64,{png})")
    return "\n\n".join(parts) or "no incident detected"


@dg.asset(
    group_name=DETECTION,
    kinds={"python"},
    deps=[fraud_model],
    description="Replays generated traffic with every fraud scenario (and clean traffic): "
    "precision, recall, F1 and detection delay per scenario, false alarms per simulated day, "
    "and a chart per detected incident (reports/evaluation/).",
    check_specs=[dg.AssetCheckSpec("evaluation_targets_met", asset="detection_evaluation")],
)
def detection_evaluation() -> Iterator[dg.AssetCheckResult | dg.Output[None]]:
    from streaming.detection.evaluate import run_evaluation

    report = run_evaluation(out_dir=REPORT_DIR)
    header = ["scenario", "incidents", "detected", "precision", "recall", "f1", "median delay"]
    targets = [(k, v.get("met")) for k, v in report["targets"].items()]
    yield dg.AssetCheckResult(
        check_name="evaluation_targets_met",
        passed=bool(report["targets_met"]),
        metadata={"targets": dg.MetadataValue.md(markdown_table(["target", "met"], targets))},
    )
    yield dg.Output(
        None,
        metadata={
            "f1": dg.MetadataValue.float(float(report["overall"]["f1"])),
            "false_alarms_per_day": dg.MetadataValue.float(
                float(report["clean"]["false_alarms_per_day"])
            ),
            "scenarios": dg.MetadataValue.md(markdown_table(header, _scenario_rows(report))),
            "report": dg.MetadataValue.path(str(REPORT_DIR / "report.json")),
            "charts": dg.MetadataValue.md(_charts_markdown(report)),
        },
    )
