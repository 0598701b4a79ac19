"""Offline evaluation: replay simulated traffic through the whole detection path, no servers.

1. History: `train_days` of generator traffic at the generator's default fraud rate (the
   offline features a real training run sees, fraud included), reference features, train().
2. Evaluation: the `eval_days` that follow, same simulated world (seed), with fraud at
   `eval_incidents_per_day` so every scenario occurs several times; score, group into alerts,
   match alerts to the generator's labels (rules in metrics.py, repeated in the report).
3. Clean: the same days with fraud switched off; every alert there is a false alarm.

The traffic rate is deliberately low (a few clicks/s over 108 segments: a handful of clicks
per segment and window at night), which makes the quality scenarios hard to see early; at
production rates the same model sees them sooner.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import orjson

from streaming.detection import metrics
from streaming.detection.alerts import group_alerts
from streaming.detection.charts import incident_chart
from streaming.detection.model import DetectorConfig, DetectorModel
from streaming.detection.replay import features_between
from streaming.detection.scoring import score
from streaming.detection.train import train
from streaming.generator import TrafficGenerator

SLIDE = timedelta(minutes=1)
# Issue 13's bar, met on each of seeds 1-8 (docs/detection.md)
TARGETS = {
    "overall_f1": 0.95,  # at least
    "scenario_recall": 0.9,  # at least, on the worst scenario
    "median_delay_slides": 2.0,  # at most
    "false_alarms_per_day": 0.5,  # at most
}
TARGETS_TEXT = {
    "overall_f1": "overall F1 >= 0.95",
    "scenario_recall": "recall >= 0.9 on every scenario",
    "median_delay_slides": "median detection delay <= 2 slides",
    "false_alarms_per_day": "<= 0.5 false alarms per simulated day on clean traffic",
}


@dataclass(frozen=True)
class EvaluationSpec:
    seed: int = 7
    rate_eps: float = 8.0
    train_days: int = 7
    eval_days: int = 3
    train_incidents_per_day: float = 4.0
    eval_incidents_per_day: float = 12.0
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: training is one full week
    hash_salt: str = "adnomaly-evaluation"
    users_per_segment: int = 10_000  # the generator's default population


def run_evaluation(
    spec: EvaluationSpec | None = None,
    config: DetectorConfig | None = None,
    out_dir: Path | None = None,
    charts: bool = True,
    model: DetectorModel | None = None,
) -> dict[str, Any]:
    """The report as a dict; with `out_dir`, also report.json and (with `charts`) one PNG per
    detected incident under out_dir/incidents/. With `model` (e.g. the stored one), that model
    is evaluated and step 1 (training on the simulated history) is skipped."""
    spec = spec or EvaluationSpec()
    config = config or (model.config if model is not None else DetectorConfig())
    clock = time.monotonic()
    timing: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        timing[name] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()

    def world(**kwargs: Any) -> TrafficGenerator:
        users = spec.users_per_segment
        return TrafficGenerator(spec.seed, spec.hash_salt, users_per_segment=users, **kwargs)

    eval_start = spec.start + timedelta(days=spec.train_days)
    eval_end = eval_start + timedelta(days=spec.eval_days)
    if model is None:
        history = world(incidents_per_day=spec.train_incidents_per_day)
        model = train(features_between(history, spec.start, eval_start, spec.rate_eps), config)
    lap("train_s")
    gen = world(incidents_per_day=spec.eval_incidents_per_day)
    features = features_between(gen, eval_start, eval_end, spec.rate_eps)
    scored = score(model, features)
    _, alerts = group_alerts(scored, config.group_gap)
    per_incident, matched = metrics.match(
        gen.incidents_between(eval_start, eval_end), scored, alerts, SLIDE, (eval_start, eval_end)
    )
    lap("fraud_replay_s")
    clean = features_between(world(fraud=False), eval_start, eval_end, spec.rate_eps)
    _, clean_alerts = group_alerts(score(model, clean, explain=False), config.group_gap)
    lap("clean_replay_s")

    report: dict[str, Any] = {"name": "detection-evaluation", "matching": metrics.__doc__}
    report |= {"spec": asdict(spec), "config": asdict(config), "model_version": model.version}
    report |= metrics.summarize(per_incident, matched)
    per_day = len(clean_alerts) / spec.eval_days
    report["clean"] = {
        "days": spec.eval_days,
        "windows": len(clean),
        "alerts": len(clean_alerts),
        "false_alarms_per_day": round(per_day, 3),
        "alert_reasons": clean_alerts["reason"].tolist(),
    }
    report["false_alerts"] = [
        {"key": row["key"], "peak_score": round(row["peak_score"], 4), "reason": row["reason"]}
        for row, hit in zip(alerts.to_dict("records"), matched, strict=True)
        if not hit
    ]
    report["targets"] = _targets(report, per_day)
    report["targets_met"] = all(t["met"] for t in report["targets"].values())
    incidents = cast(list[dict[str, Any]], per_incident.to_dict("records"))
    if out_dir is not None and charts:
        for row in incidents:
            if row["detected"]:
                name = f"{row['scenario']}-{row['incident_id']}.png"
                chart = incident_chart(features, scored, row, out_dir / "incidents" / name)
                row["chart"] = str(chart)
    report["incidents"] = [_jsonable(row) for row in incidents]
    lap("report_s")
    report["timing"] = timing | {"total_s": round(sum(timing.values()), 2)}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def _targets(report: dict[str, Any], per_day: float) -> dict[str, Any]:
    overall, scenarios = report["overall"], report["scenarios"]
    worst_recall = min((s["recall"] for s in scenarios.values() if s["incidents"]), default=0.0)
    delay = overall["median_delay_slides"]
    values = {
        "overall_f1": (overall["f1"], overall["f1"] >= TARGETS["overall_f1"]),
        "scenario_recall": (worst_recall, worst_recall >= TARGETS["scenario_recall"]),
        "median_delay_slides": (
            delay,
            delay is not None and delay <= TARGETS["median_delay_slides"],
        ),
        "false_alarms_per_day": (per_day, per_day <= TARGETS["false_alarms_per_day"]),
    }
    return {k: {"target": TARGETS_TEXT[k], "value": v, "met": m} for k, (v, m) in values.items()}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["start"], out["end"] = row["start"].isoformat(), row["end"].isoformat()
    delay = row["delay_slides"]
    out["delay_slides"] = None if delay != delay else round(float(delay), 3)  # NaN -> null
    return out
