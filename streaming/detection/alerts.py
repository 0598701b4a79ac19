"""Turn anomalous windows into incidents: one alert per burst, not one per window.

Windows slide every minute, so one fraud incident makes many consecutive windows anomalous.
Anomalous windows of one segment whose window_end is at most `gap` after the previous
anomalous one belong to the same incident. An incident is announced once when it opens and
once when it is resolved (a later window of the segment arrives more than `gap` after its last
anomalous window). The incident key `geo|platform|first window_end` is derived from the data,
so a replay or a restarted detector names an incident exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import pandas as pd

from streaming.contract import format_timestamp


@dataclass
class Incident:
    key: str
    geo: str
    platform: str
    first_window_start: datetime
    first_window_end: datetime
    last_window_end: datetime
    peak_score: float = 0.0
    windows: int = 0
    reason: str = ""
    drivers: dict[str, Any] = field(default_factory=dict)
    feature: str = ""  # what drove the peak window: a feature (or "multivariate") ...
    view: str = ""  # ... seen in which view (seasonal, sustained, joint)

    def message(self, status: Literal["open", "resolved"], model_version: str) -> dict[str, Any]:
        """The JSON published on the anomalies topic (key: incident key)."""
        return {
            "incident_key": self.key,
            "status": status,
            "geo": self.geo,
            "platform": self.platform,
            "first_window_start": format_timestamp(self.first_window_start),
            "first_window_end": format_timestamp(self.first_window_end),
            "last_window_end": format_timestamp(self.last_window_end),
            "windows": self.windows,
            "peak_score": round(self.peak_score, 6),
            "reason": self.reason,
            "feature": self.feature,
            "view": self.view,
            "drivers": self.drivers,
            "model_version": model_version,
        }


def incident_key(geo: str, platform: str, window_end: datetime) -> str:
    return f"{geo}|{platform}|{window_end:%Y-%m-%dT%H:%MZ}"


class AlertGrouper:
    """Per-segment open incidents; feed windows in (roughly) time order per segment."""

    def __init__(self, gap: timedelta) -> None:
        self.gap = gap
        self.open: dict[tuple[str, str], Incident] = {}

    def restore(self, incident: Incident) -> None:
        """Resume an incident a previous run left open (read back from anomaly_results)."""
        self.open[(incident.geo, incident.platform)] = incident

    def observe(
        self, row: dict[str, Any]
    ) -> tuple[str | None, list[tuple[Literal["open", "resolved"], Incident]]]:
        """`row` is a scored window (scoring.OUTPUT_COLUMNS). Returns its incident key (None
        when normal) and the open/resolved announcements it causes."""
        segment = (row["geo"], row["platform"])
        end: datetime = pd.Timestamp(row["window_end"]).to_pydatetime()
        events: list[tuple[Literal["open", "resolved"], Incident]] = []
        current = self.open.get(segment)
        if current is not None and (
            end - current.last_window_end > self.gap or current.first_window_end - end > self.gap
        ):  # later than the gap, or a stream gone back in time (a replay of older data)
            events.append(("resolved", self.open.pop(segment)))
            current = None
        if not row["is_anomaly"]:
            return None, events
        if current is None:
            start = pd.Timestamp(row["window_start"]).to_pydatetime()
            current = Incident(incident_key(*segment, end), *segment, start, end, end, windows=1)
            self.open[segment] = current
            events.append(("open", current))
        elif end > current.last_window_end:  # a redelivered window is not counted twice
            current.last_window_end = end
            current.windows += 1
        if row["score"] > current.peak_score:
            current.peak_score = float(row["score"])
            current.reason, current.drivers = row["reason"], row["drivers"]
            current.feature = str(row.get("driver_feature") or "")
            current.view = str(row.get("driver_view") or "")
        return current.key, events


def group_alerts(scored: pd.DataFrame, gap: timedelta) -> tuple[pd.Series, pd.DataFrame]:
    """Offline grouping with the service's own rules: (incident key per scored row, one row per
    incident with its first/last window, window count and peak score)."""
    keys = pd.Series([None] * len(scored), index=scored.index, dtype=object)
    grouper = AlertGrouper(gap)
    incidents: dict[str, Incident] = {}
    anomalous = scored[scored["is_anomaly"]].sort_values("window_end", kind="stable")
    rows = cast(list[dict[str, Any]], anomalous.to_dict("records"))
    for index, row in zip(anomalous.index, rows, strict=True):
        key, events = grouper.observe(row)
        keys[index] = key
        incidents.update((inc.key, inc) for _, inc in events)
    columns = ["key", "geo", "platform", "first_window_start", "first_window_end"]
    columns += ["last_window_end", "peak_score", "windows", "reason", "feature", "view"]
    table = pd.DataFrame(
        [{c: getattr(inc, c) for c in columns} for inc in incidents.values()], columns=columns
    )
    return keys, table
