"""Live model quality: incidents matched to fraud labels and analysts' verdicts (pure rules of
streaming/incidents/quality.py), and the bounds check of detection_live_quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adnomaly_dagster.defs.detection.live_quality import bounds_check
from streaming.incidents.grouping import Window, incident_id
from streaming.incidents.quality import Label, assess

DAY = (datetime(2026, 5, 4, tzinfo=UTC), datetime(2026, 5, 5, tzinfo=UTC))
T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)


def _min(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def _windows(geo: str, platform: str, first_end: float, last_end: float) -> list[Window]:
    """Anomalous 5-minute windows sliding every minute, ends first_end..last_end (minutes)."""
    ends = [_min(m) for m in range(int(first_end), int(last_end) + 1)]
    return [Window(geo, platform, e - timedelta(minutes=5), e, 0.9) for e in ends]


def _label(name: str, geo: str, platform: str, start: float, end: float) -> Label:
    return Label(name, "bot_click_flood", geo, platform, _min(start), _min(end))


def test_caught_label_with_delay_of_first_overlapping_window() -> None:
    label = _label("inc-a", "US", "ios", 0, 20)
    quality = assess([label], _windows("US", "ios", 2, 15), {}, DAY)
    (outcome,) = quality.labels
    assert outcome.caught and outcome.delay == timedelta(minutes=2)
    assert outcome.alerts == (incident_id("US", "ios", _min(2)),)
    assert (quality.precision, quality.recall) == (1.0, 1.0)
    assert quality.median_delay == timedelta(minutes=2)


def test_window_ending_before_the_fraud_is_not_its_delay() -> None:
    """An incident already open when the fraud begins: the delay is measured from the first
    window that overlaps the label, never negative."""
    label = _label("inc-a", "US", "ios", 0, 20)
    quality = assess([label], _windows("US", "ios", -3, 6), {}, DAY)
    assert quality.labels[0].delay == timedelta(minutes=1)


def test_missed_label_and_false_alert_in_another_segment() -> None:
    labels = [_label("inc-a", "US", "ios", 0, 20), _label("inc-b", "DE", "web", 30, 50)]
    windows = _windows("US", "ios", 3, 10) + _windows("FR", "android", 100, 104)
    quality = assess(labels, windows, {}, DAY)
    assert [o.caught for o in quality.labels] == [True, False]
    assert quality.labels[1].delay is None
    assert [a.why for a in quality.alerts] == ["label", "no label"]
    assert (quality.precision, quality.recall) == (0.5, 0.5)


def test_same_segment_outside_the_label_span_is_no_match() -> None:
    label = _label("inc-a", "US", "ios", 0, 20)
    quality = assess([label], _windows("US", "ios", 40, 45), {}, DAY)  # starts 35 > 20
    assert not quality.labels[0].caught
    assert quality.precision == 0.0


def test_confirmed_fraud_without_label_is_a_true_alert() -> None:
    windows = _windows("FR", "web", 5, 9)
    verdicts = {incident_id("FR", "web", _min(5)): "fraud"}
    quality = assess([], windows, verdicts, DAY)
    assert quality.alerts[0].true and quality.alerts[0].why == "confirmed fraud"
    assert quality.precision == 1.0
    assert quality.recall is None  # no label: nothing to recall


def test_false_alarm_verdict_overrides_a_matching_label() -> None:
    label = _label("inc-a", "US", "ios", 0, 20)
    verdicts = {incident_id("US", "ios", _min(2)): "false_alarm"}
    quality = assess([label], _windows("US", "ios", 2, 15), verdicts, DAY)
    alert = quality.alerts[0]
    assert not alert.true and alert.why == "false-alarm verdict" and alert.labels == ("inc-a",)
    assert not quality.labels[0].caught
    assert (quality.precision, quality.recall) == (0.0, 0.0)


def test_unsure_leaves_the_label_to_decide() -> None:
    label = _label("inc-a", "US", "ios", 0, 20)
    verdicts = {incident_id("US", "ios", _min(2)): "unsure"}
    quality = assess([label], _windows("US", "ios", 2, 15), verdicts, DAY)
    assert quality.alerts[0].true and quality.alerts[0].verdict == "unsure"


def test_labels_too_recent_are_pending_not_missed() -> None:
    labels = [_label("inc-a", "US", "ios", 0, 20), _label("inc-b", "DE", "web", 30, 50)]
    quality = assess(labels, _windows("US", "ios", 2, 5), {}, DAY, judged_until=_min(25))
    assert [o.label.incident_id for o in quality.labels] == ["inc-a"]
    assert [p.incident_id for p in quality.pending] == ["inc-b"]
    assert quality.recall == 1.0


def test_period_counts_labels_by_start_and_alerts_by_first_window() -> None:
    """A label begun the day before belongs to that day, yet its alert ending today still
    counts as a true alert of today; labels and alerts of the next day are not counted."""
    before = Label(
        "inc-y",
        "ctr_inflation",
        "US",
        "ios",
        DAY[0] - timedelta(minutes=30),
        DAY[0] + timedelta(minutes=10),
    )
    after = Label("inc-z", "ctr_inflation", "DE", "web", DAY[1], DAY[1] + timedelta(minutes=20))
    windows = [
        Window("US", "ios", DAY[0] - timedelta(minutes=1), DAY[0] + timedelta(minutes=4), 0.8),
        Window("DE", "web", DAY[1], DAY[1] + timedelta(minutes=5), 0.8),
    ]
    quality = assess([before, after], windows, {}, DAY)
    assert quality.labels == [] and quality.pending == []
    assert [a.incident.geo for a in quality.alerts] == ["US"]
    assert quality.alerts[0].true and quality.recall is None


def test_two_model_versions_count_once() -> None:
    label = _label("inc-a", "US", "ios", 0, 20)
    windows = _windows("US", "ios", 2, 6) * 2  # the same windows from two model versions
    quality = assess([label], windows, {}, DAY)
    assert len(quality.alerts) == 1 and quality.alerts[0].incident.windows == 5


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="period ends"):
        assess([], [], {}, (DAY[1], DAY[0]))
    with pytest.raises(ValueError, match="inc-a: end"):
        _label("inc-a", "US", "ios", 5, 5)


def test_bounds_check_fails_below_either_bound_and_names_it() -> None:
    labels = [_label("inc-a", "US", "ios", 0, 20), _label("inc-b", "DE", "web", 30, 50)]
    windows = _windows("US", "ios", 3, 10) + _windows("FR", "android", 100, 104)
    quality = assess(labels, windows, {}, DAY)  # precision 0.5, recall 0.5
    assert bounds_check(quality, 0.5, 0.5).passed
    low = bounds_check(quality, 0.6, 0.5)
    assert not low.passed and low.description == "precision 0.500 < 0.6"
    both = bounds_check(quality, 0.9, 0.9)
    assert not both.passed and "recall 0.500 < 0.9" in (both.description or "")


def test_bounds_check_with_nothing_to_measure_passes_saying_so() -> None:
    result = bounds_check(assess([], [], {}, DAY), 0.9, 0.9)
    assert result.passed
    assert result.metadata["precision"].value == "—"
