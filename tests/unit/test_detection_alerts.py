"""Alert grouping: one incident per burst of anomalous windows, announced once open and once
resolved, stable under redelivery and restarts; plus the matching rules of the evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from streaming.detection import metrics
from streaming.detection.alerts import AlertGrouper, Incident, group_alerts
from streaming.generator import FraudIncident, FraudType

T0 = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
GAP = timedelta(minutes=5)


def window(minute: int, anomalous: bool, geo: str = "US", score: float = 0.8) -> dict[str, Any]:
    end = T0 + timedelta(minutes=minute)
    return {
        "geo": geo,
        "platform": "web",
        "window_start": end - timedelta(minutes=5),
        "window_end": end,
        "score": score if anomalous else 0.1,
        "is_anomaly": anomalous,
        "reason": f"reason at {minute}",
        "drivers": {"cpc_avg": {"z": score * 10}},
    }


def feed(grouper: AlertGrouper, rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    out = []
    for row in rows:
        key, events = grouper.observe(row)
        out += [(status, key, inc.key) for status, inc in events]
    return out


def test_consecutive_anomalies_are_one_incident_announced_twice() -> None:
    grouper = AlertGrouper(GAP)
    rows = [window(m, 3 <= m <= 9 and m != 6) for m in range(20)]
    events = feed(grouper, rows)
    key = "US|web|2026-03-09T12:03Z"
    assert [(status, inc_key) for status, _, inc_key in events] == [
        ("open", key),
        ("resolved", key),
    ]
    assert grouper.open == {}


def test_the_peak_window_explains_the_incident() -> None:
    grouper = AlertGrouper(GAP)
    for m, s in ((1, 0.6), (2, 0.9), (3, 0.7)):
        grouper.observe(window(m, True, score=s))
    (incident,) = grouper.open.values()
    assert (incident.peak_score, incident.reason, incident.windows) == (0.9, "reason at 2", 3)
    message = incident.message("open", "v1")
    assert message["incident_key"] == incident.key and message["model_version"] == "v1"
    assert message["first_window_end"] == "2026-03-09T12:01:00.000Z"


def test_a_gap_longer_than_the_limit_starts_a_new_incident() -> None:
    grouper = AlertGrouper(GAP)
    keys = [grouper.observe(window(m, True))[0] for m in (0, 5, 11)]
    assert keys[0] == keys[1] != keys[2]


def test_a_replay_of_older_windows_does_not_join_the_open_incident() -> None:
    grouper = AlertGrouper(GAP)
    recent = grouper.observe(window(600, True))[0]
    key, events = grouper.observe(window(0, True))
    assert key != recent and [s for s, _ in events] == ["resolved", "open"]


def test_segments_are_grouped_independently() -> None:
    grouper = AlertGrouper(GAP)
    us = grouper.observe(window(0, True, geo="US"))[0]
    de = grouper.observe(window(1, True, geo="DE"))[0]
    assert us != de and len(grouper.open) == 2


def test_redelivery_and_restart_keep_the_key_and_the_count() -> None:
    grouper = AlertGrouper(GAP)
    first = feed(grouper, [window(m, True) for m in (0, 1, 2)])
    again = feed(grouper, [window(m, True) for m in (1, 2)])  # redelivered after a crash
    assert len(first) == 1 and again == []
    (incident,) = grouper.open.values()
    assert incident.windows == 3
    restarted = AlertGrouper(GAP)
    restarted.restore(
        Incident(incident.key, "US", "web", T0 - GAP, T0, T0 + timedelta(minutes=2), 0.8, 3)
    )
    key, events = restarted.observe(window(4, True))
    assert key == incident.key and events == []


def test_offline_grouping_matches_the_service_rules() -> None:
    rows = pd.DataFrame([window(m, m in (2, 3, 4, 30, 31)) for m in range(40)])
    keys, table = group_alerts(rows, GAP)
    assert table["windows"].tolist() == [3, 2]
    assert keys.notna().sum() == 5 and keys.dropna().nunique() == 2
    assert table["first_window_start"].iloc[0] == pd.Timestamp(T0 - timedelta(minutes=3))


def _incident(kind: FraudType, start_minute: int, minutes: int, geo: str = "US") -> FraudIncident:
    start = T0 + timedelta(minutes=start_minute, seconds=30)
    return FraudIncident(
        id=f"inc-20260309-{start_minute:02d}-abcdef",
        type=kind,
        geo=geo,
        platform="web",
        campaign_id="camp_001",
        start=start,
        end=start + timedelta(minutes=minutes),
        intensity=0.8,
    )


def test_matching_recall_precision_and_delay() -> None:
    scored = pd.DataFrame([window(m, m in (12, 13, 14, 50)) for m in range(60)])
    _, alerts = group_alerts(scored, GAP)
    incidents = [
        _incident(FraudType.CPC_MANIPULATION, 10, 15),  # alert from window ending 12:12
        _incident(FraudType.CTR_INFLATION, 30, 5, geo="DE"),  # other segment: missed
    ]
    per_incident, matched = metrics.match(incidents, scored, alerts, timedelta(minutes=1))
    assert per_incident["detected"].tolist() == [True, False]
    assert per_incident["delay_slides"].iloc[0] == pytest.approx(1.5)  # 12:12:00 - 12:10:30
    summary = metrics.summarize(per_incident, matched)
    overall = summary["overall"]
    assert (overall["true_alerts"], overall["false_alerts"]) == (1, 1)  # 12:50 matches nothing
    assert (overall["precision"], overall["recall"]) == (0.5, 0.5)
    cpc = summary["scenarios"]["cpc_manipulation"]
    assert (cpc["recall"], cpc["precision"], cpc["median_delay_slides"]) == (1.0, 0.5, 1.5)
    assert summary["scenarios"]["ctr_inflation"]["recall"] == 0.0
    assert summary["scenarios"]["bot_click_flood"]["incidents"] == 0
