"""Incident grouping: consecutive anomalous windows of one segment are one incident with an ID
a person can type; the rule is the detector's own, so the app and the alerts agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from streaming.detection.alerts import group_alerts, incident_key
from streaming.detection.model import DetectorConfig
from streaming.incidents.grouping import (
    GAP,
    Window,
    group_windows,
    incident_id,
    parse_incident_id,
)
from streaming.incidents.queries import Filters

T0 = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def w(minute: int, geo: str = "US", platform: str = "web", score: float = 0.8) -> Window:
    end = T0 + timedelta(minutes=minute)
    drivers = {"ctr_avg": {"z": score * 10}, "event_count": {"z": score * 5}}
    return Window(geo, platform, end - timedelta(minutes=5), end, score, drivers, f"at {minute}")


def test_consecutive_windows_form_one_incident_with_the_peak_explained() -> None:
    (inc,) = group_windows([w(0, score=0.6), w(1, score=0.9), w(2, score=0.7)])
    assert inc.id == "US-web-2026-03-09T12:00Z"
    assert (inc.start, inc.first_window_end) == (T0 - timedelta(minutes=5), T0)
    assert inc.end == T0 + timedelta(minutes=2)
    assert (inc.windows, inc.peak_score, inc.reason) == (3, 0.9, "at 1")
    assert inc.driver_names == ["ctr_avg", "event_count"]  # strongest first


def test_the_drivers_are_labelled_with_the_view_that_saw_them() -> None:
    window = w(0, score=0.9)
    window.drivers["ctr_avg"] |= {"view": "sustained"}  # event_count: a row from before views
    (inc,) = group_windows([window])
    assert inc.driver_labels == ["ctr_avg (sustained view, 9.0 sigma)", "event_count"]


def test_a_gap_longer_than_the_detectors_splits_an_incident() -> None:
    windows = [w(0), w(5), w(11)]  # 5 minutes apart joins; 6 minutes apart does not
    incidents = group_windows(windows)
    assert [(i.first_window_end, i.windows) for i in incidents] == [
        (T0 + timedelta(minutes=11), 1),
        (T0, 2),
    ]


def test_segments_never_mix_and_the_queue_is_newest_first() -> None:
    incidents = group_windows([w(0, "US"), w(1, "DE"), w(2, "US", "ios"), w(3, "US")])
    assert [i.id for i in incidents] == [
        "US-ios-2026-03-09T12:02Z",
        "DE-web-2026-03-09T12:01Z",
        "US-web-2026-03-09T12:00Z",
    ]
    assert incidents[2].windows == 2


def test_a_window_scored_by_two_model_versions_counts_once_with_its_best_score() -> None:
    (inc,) = group_windows([w(0, score=0.7), w(0, score=0.95), w(1, score=0.8)])
    assert (inc.windows, inc.peak_score) == (2, 0.95)


def test_the_order_of_the_rows_does_not_matter() -> None:
    rows = [w(4), w(0), w(9), w(2), w(30)]
    assert [i.id for i in group_windows(rows)] == [i.id for i in group_windows(rows[::-1])]


def test_gap_is_the_detectors_and_grouping_matches_its_alerts() -> None:
    assert DetectorConfig().group_gap == GAP
    minutes = [0, 1, 2, 7, 8, 20, 26]
    windows = [w(m) for m in minutes] + [w(m, "FR", "android") for m in (3, 4, 12)]
    scored = pd.DataFrame(
        [
            {
                "geo": x.geo,
                "platform": x.platform,
                "window_start": x.window_start,
                "window_end": x.window_end,
                "score": x.score,
                "is_anomaly": True,
                "reason": x.reason,
                "drivers": x.drivers,
            }
            for x in windows
        ]
    )
    _, alerts = group_alerts(scored, GAP)
    detector = {incident_key(r.geo, r.platform, r.first_window_end) for r in alerts.itertuples()}
    ours = {i.id for i in group_windows(windows)}
    assert len(ours) == len(detector) == 5  # US: 0-8, 20, 26; FR: 3-4, 12
    as_detector_keys = set()
    for key in ours:
        geo, platform, at = parse_incident_id(key)
        as_detector_keys.add(incident_key(geo, platform, at))
    assert as_detector_keys == detector


def test_id_round_trip_and_padding_of_the_geo_column() -> None:
    at = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
    text = incident_id("US", "ios", at)
    assert text == "US-ios-2026-12-01T10:05Z"
    assert parse_incident_id(text) == ("US", "ios", at)
    assert incident_id("US ", "ios", at) == text  # char(2) comes back padded from PostgreSQL


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("US|ios|2026-12-01T10:05Z", "is not of the form"),
        ("us-ios-2026-12-01T10:05Z", "is not of the form"),
        ("ZZ-ios-2026-12-01T10:05Z", "unknown geo 'ZZ'"),
        ("US-tv-2026-12-01T10:05Z", "platform must be one of web, ios, android"),
        ("US-ios-2026-13-01T10:05Z", "2026-13-01T10:05 is not a valid time"),
    ],
)
def test_a_malformed_id_is_refused_naming_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_incident_id(text)


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"until": T0 - timedelta(hours=1)}, "ends .* before it starts"),
        ({"min_score": 1.5}, r"minimum score 1.5 is outside \[0, 1\]"),
        ({"verdict": "maybe"}, "verdict filter 'maybe'"),
    ],
)
def test_filters_refuse_nonsense(kwargs: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Filters(since=T0, **kwargs)  # type: ignore[arg-type]
