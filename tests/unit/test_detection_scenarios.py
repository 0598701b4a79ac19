"""The whole offline path on generated traffic: every fraud scenario is caught, clean traffic
stays quiet, and the report says how matching was done.

A reduced replay to stay fast: two days of history (the weekly shape falls back to the same
time of day), one evaluation day with 40 incidents, a smaller user population. The full-size
run is `adnomaly evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from streaming.detection.charts import incident_chart
from streaming.detection.evaluate import EvaluationSpec, run_evaluation
from streaming.generator import FraudType

SPEC = EvaluationSpec(
    seed=4,
    rate_eps=8.0,
    train_days=2,
    eval_days=1,
    eval_incidents_per_day=40,
    users_per_segment=2000,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("evaluation")
    result = run_evaluation(SPEC, out_dir=out, charts=False)
    result["out_dir"] = out
    return result


@pytest.mark.parametrize("scenario", [t.value for t in FraudType])
def test_every_scenario_is_detected(report: dict[str, Any], scenario: str) -> None:
    figures = report["scenarios"][scenario]
    assert figures["incidents"] >= 3, "too few incidents for a meaningful check"
    assert figures["recall"] >= 0.8, figures
    assert figures["median_delay_slides"] <= 5, figures


def test_alerts_are_precise_and_prompt(report: dict[str, Any]) -> None:
    overall = report["overall"]
    assert overall["precision"] >= 0.9 and overall["f1"] >= 0.9, overall
    assert overall["median_delay_slides"] <= 2.0, overall
    # grouping: about one alert per incident, not one per anomalous window
    assert overall["alerts"] <= 1.3 * overall["incidents"]


def test_clean_traffic_stays_quiet(report: dict[str, Any]) -> None:
    clean = report["clean"]
    assert clean["windows"] > 100_000
    assert clean["false_alarms_per_day"] <= 1.0, clean["alert_reasons"]


def test_report_is_written_with_its_matching_rules(report: dict[str, Any]) -> None:
    saved = orjson.loads((report["out_dir"] / "report.json").read_bytes())
    assert "overlaps [start, end)" in saved["matching"]
    assert saved["spec"]["seed"] == SPEC.seed and saved["model_version"]
    assert set(saved["targets"]) == {
        "overall_f1",
        "scenario_recall",
        "median_delay_slides",
        "false_alarms_per_day",
    }
    assert len(saved["incidents"]) == report["overall"]["incidents"]


def test_incident_chart_is_a_png(tmp_path: Path) -> None:
    start = pd.Timestamp("2026-03-09T12:00:30Z")
    ends = pd.date_range("2026-03-09T11:30Z", periods=90, freq="min")
    features = pd.DataFrame(
        {
            "geo": "US",
            "platform": "web",
            "window_start": ends - pd.Timedelta(minutes=5),
            "window_end": ends,
            "event_count": 20,
            "events_per_user": 1.0,
            "suspicious_ua_share": 0.0,
            "ctr_avg": 0.02,
            "cpc_avg": 0.4,
            "bounce_rate_avg": 0.5,
            "conversion_rate": 0.03,
        }
    )
    flagged = (ends > start) & (ends < start + pd.Timedelta(minutes=20))
    scored = pd.DataFrame({"score": flagged * 0.8, "is_anomaly": flagged})
    incident = {
        "scenario": "cpc_manipulation",
        "geo": "US",
        "platform": "web",
        "start": start,
        "end": start + pd.Timedelta(minutes=15),
        "intensity": 0.7,
        "detected": True,
        "delay_slides": 0.5,
    }
    path = incident_chart(features, scored, incident, tmp_path / "c" / "x.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
