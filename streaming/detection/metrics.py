"""Matching alerts to labelled incidents, and the figures the evaluation reports.

Matching (stated again in every report, because every figure depends on it):
- A window [window_start, window_end) of a segment *covers* an incident when it is the
  incident's segment and overlaps [start, end): window_start < end and window_end > start.
- An alert (a group of anomalous windows, see alerts.py) *matches* an incident when it is the
  incident's segment and its span [first window_start, last window_end) overlaps [start, end).
- An incident is *detected* when at least one alert matches it. Recall = detected/incidents.
- An alert is *true* when it matches at least one incident, *false* otherwise.
  Precision = true alerts / all alerts; F1 = 2PR/(P+R).
- Per scenario: recall over that scenario's incidents; precision = alerts matching that
  scenario / (those + every false alert). A false alert cannot be attributed to a scenario,
  so each scenario is charged with all of them (conservative).
- Detection delay = window_end of the earliest anomalous window covering the incident minus
  the incident's start, in slides (window slide = 1 minute): 1.0 means the alert came with
  the first window that ended at least one slide after the fraud began.
- Only incidents wholly inside the replayed period are scored. One cut by the period's edge
  (begun before it, or still running at its end) can be neither detected on time nor missed
  fairly; alerts matching only such incidents are left out of precision ("edge alerts").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from streaming.generator import FraudIncident, FraudType

EDGE = "edge"


def match(
    incidents: Sequence[FraudIncident],
    scored: pd.DataFrame,
    alerts: pd.DataFrame,
    slide: timedelta,
    period: tuple[datetime, datetime] | None = None,
) -> tuple[pd.DataFrame, list[set[str]]]:
    """(one row per incident inside `period`: detected, delay_slides, alert keys; per alert
    row: the scenarios it matched, EDGE for an incident cut by the period's edge, empty for a
    false alert)."""
    anomalous = scored[scored["is_anomaly"]]
    matched: list[set[str]] = [set() for _ in range(len(alerts))]
    rows = []
    for inc in incidents:
        start, end = pd.Timestamp(inc.start), pd.Timestamp(inc.end)
        inside = period is None or (period[0] <= inc.start and inc.end <= period[1])
        hit = (
            (alerts["geo"] == inc.geo)
            & (alerts["platform"] == inc.platform)
            & (alerts["first_window_start"] < end)
            & (alerts["last_window_end"] > start)
        ).to_numpy()
        for position in np.flatnonzero(hit):
            matched[position].add(inc.type.value if inside else EDGE)
        if not inside:
            continue
        covering = anomalous[
            (anomalous["geo"] == inc.geo)
            & (anomalous["platform"] == inc.platform)
            & (anomalous["window_start"] < end)
            & (anomalous["window_end"] > start)
        ]
        delay = np.nan
        if hit.any() and len(covering):
            delay = (covering["window_end"].min() - start) / slide
        rows.append(
            {
                "incident_id": inc.id,
                "scenario": inc.type.value,
                "geo": inc.geo,
                "platform": inc.platform,
                "start": start,
                "end": end,
                "intensity": inc.intensity,
                "detected": bool(hit.any()),
                "delay_slides": delay,
                "alert_keys": alerts["key"][hit].tolist(),
            }
        )
    return pd.DataFrame(rows), matched


def _prf(true_alerts: int, false_alerts: int, detected: int, total: int) -> dict[str, Any]:
    precision = true_alerts / (true_alerts + false_alerts) if true_alerts + false_alerts else 0.0
    recall = detected / total if total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _delays(frame: pd.DataFrame) -> dict[str, Any]:
    delays = frame["delay_slides"].dropna()
    median = round(float(delays.median()), 3) if len(delays) else None
    worst = round(float(delays.max()), 3) if len(delays) else None
    return {"median_delay_slides": median, "max_delay_slides": worst}


def summarize(per_incident: pd.DataFrame, matched: list[set[str]]) -> dict[str, Any]:
    """{"overall": {...}, "scenarios": {name: {...}}} with counts, P/R/F1 and delays."""
    false_alerts = sum(1 for m in matched if not m)
    edge_alerts = sum(1 for m in matched if m == {EDGE})
    true_alerts = len(matched) - false_alerts - edge_alerts
    overall = {
        "incidents": len(per_incident),
        "detected": int(per_incident["detected"].sum()) if len(per_incident) else 0,
        "alerts": true_alerts + false_alerts,
        "true_alerts": true_alerts,
        "false_alerts": false_alerts,
        "edge_alerts": edge_alerts,
    }
    overall |= _prf(true_alerts, false_alerts, overall["detected"], overall["incidents"])
    overall |= _delays(per_incident) if len(per_incident) else _delays(_EMPTY)
    scenarios: dict[str, Any] = {}
    for scenario in FraudType:
        rows = (
            per_incident[per_incident["scenario"] == scenario.value]
            if len(per_incident)
            else _EMPTY
        )
        mine = sum(1 for m in matched if scenario.value in m)
        entry = {"incidents": len(rows), "detected": int(rows["detected"].sum()), "alerts": mine}
        entry |= _prf(mine, false_alerts, entry["detected"], entry["incidents"])
        scenarios[scenario.value] = entry | _delays(rows)
    return {"overall": overall, "scenarios": scenarios}


_EMPTY = pd.DataFrame({"detected": pd.Series(dtype=bool), "delay_slides": pd.Series(dtype=float)})
