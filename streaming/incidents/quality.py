"""How well the running detector does: its incidents matched to the generator's fraud labels
and the analysts' verdicts (pure; streaming/incidents/quality_reads.py reads the tables).

The rules, repeated in the Dagster asset's description and the demo's summary:
- An incident (consecutive anomalous windows of one segment, grouping.py) *matches* a label
  when it is the label's segment and its span [first window start, last window end) overlaps
  the label's [start, end), the rule of the offline evaluation (streaming/detection/metrics.py).
- An incident is a *true* alert when an analyst confirmed it as fraud (with or without a label),
  or when it matches a label and no analyst called it a false alarm. A false-alarm verdict makes
  it a false alert even when it matches a label: the analyst saw the alert and judged it.
  'unsure' leaves the labels to decide.
- A label is *caught* when a true alert matches it; its *delay* is the end of the earliest
  anomalous window of such an alert that overlaps the label, minus the label's start.
- A period counts the alerts whose first window ends in it and the labels that start in it;
  labels starting after `judged_until` are *pending* (too recent to expect an alert), not
  missed. Precision = true alerts / alerts; recall = caught labels / judged labels; either is
  None when its denominator is 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from streaming.incidents.grouping import Incident, Window, group_windows

FRAUD, FALSE_ALARM = "fraud", "false_alarm"  # streaming.incidents.verdicts.Verdict values


@dataclass(frozen=True)
class Label:
    """One row of fraud_labels: which scenario ran where and when ([start, end))."""

    incident_id: str
    scenario: str
    geo: str
    platform: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"label {self.incident_id}: end {self.end} is not after its start")


@dataclass(frozen=True)
class LabelOutcome:
    label: Label
    caught: bool
    delay: timedelta | None  # None when not caught
    alerts: tuple[str, ...]  # the true incidents that caught it


@dataclass(frozen=True)
class AlertOutcome:
    incident: Incident
    true: bool
    why: str  # 'label', 'confirmed fraud', 'false-alarm verdict', 'no label'
    labels: tuple[str, ...]  # labels it matches (whatever its verdict)
    verdict: str | None


@dataclass(frozen=True)
class Quality:
    period: tuple[datetime, datetime]
    labels: list[LabelOutcome]  # judged labels of the period, by start
    alerts: list[AlertOutcome]  # alerts of the period, by first window
    pending: list[Label]  # labels of the period too recent to judge

    @property
    def true_alerts(self) -> int:
        return sum(a.true for a in self.alerts)

    @property
    def caught(self) -> int:
        return sum(o.caught for o in self.labels)

    @property
    def precision(self) -> float | None:
        return self.true_alerts / len(self.alerts) if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.caught / len(self.labels) if self.labels else None

    @property
    def median_delay(self) -> timedelta | None:
        seconds = [o.delay.total_seconds() for o in self.labels if o.delay is not None]
        return timedelta(seconds=statistics.median(seconds)) if seconds else None


def _matches(inc: Incident, label: Label) -> bool:
    return (
        inc.geo == label.geo
        and inc.platform == label.platform
        and inc.start < label.end
        and inc.end > label.start
    )


def _judge(inc: Incident, labels: tuple[str, ...], verdict: str | None) -> tuple[bool, str]:
    if verdict == FRAUD:
        return True, "confirmed fraud"
    if verdict == FALSE_ALARM:
        return False, "false-alarm verdict"
    return (True, "label") if labels else (False, "no label")


def assess(
    labels: Iterable[Label],
    windows: Iterable[Window],
    verdicts: Mapping[str, str],
    period: tuple[datetime, datetime],
    judged_until: datetime | None = None,
) -> Quality:
    """`windows`: the anomalous windows around the period (read a margin before and after it,
    so incidents and labels cut by its edges still meet); `verdicts`: incident ID -> the verdict
    in force ('fraud', 'false_alarm', 'unsure')."""
    start, end = period
    if end <= start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    cutoff = min(end, judged_until) if judged_until is not None else end
    windows = list(windows)
    incidents = sorted(group_windows(windows), key=lambda inc: (inc.first_window_end, inc.id))
    all_labels = sorted(set(labels), key=lambda lb: (lb.start, lb.incident_id))
    judged: dict[str, AlertOutcome] = {}
    for inc in incidents:
        matched = tuple(lb.incident_id for lb in all_labels if _matches(inc, lb))
        verdict = verdicts.get(inc.id)
        true, why = _judge(inc, matched, verdict)
        judged[inc.id] = AlertOutcome(inc, true, why, matched, verdict)
    outcomes, pending = [], []
    for label in (lb for lb in all_labels if start <= lb.start < end):
        if label.start >= cutoff:
            pending.append(label)
            continue
        hits = [inc for inc in incidents if judged[inc.id].true and _matches(inc, label)]
        ends = [
            w.window_end
            for w in windows
            for inc in hits
            if (w.geo.strip(), w.platform) == (inc.geo, inc.platform)
            and inc.first_window_end <= w.window_end <= inc.end
            and w.window_start < label.end
            and w.window_end > label.start
        ]
        delay = min(ends) - label.start if ends else None
        outcomes.append(LabelOutcome(label, bool(hits), delay, tuple(i.id for i in hits)))
    alerts = [a for a in judged.values() if start <= a.incident.first_window_end < end]
    return Quality(period, outcomes, alerts, pending)
