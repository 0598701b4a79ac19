"""Anomalous windows -> incidents, by the detector's own rule, with IDs a person can type.

Windows slide every minute, so one burst of fraud makes many consecutive windows of one
(geo, platform) segment anomalous. As in streaming/detection/alerts.py, an anomalous window whose
window_end is at most GAP after the previous anomalous window of its segment continues that
incident. The ID is derived from the data (segment and first window_end), so it is the same on
every read, in the app and on the command line, and needs no quoting in a shell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from streaming.contract import GEOS, PLATFORMS

# the detector's group gap (streaming/detection/model.py DetectorConfig.group_gap_minutes);
# tests/unit/test_incident_grouping.py fails if the two drift apart
GAP = timedelta(minutes=5)
_ID = re.compile(r"^(?P<geo>[A-Z]{2})-(?P<platform>[a-z]+)-(?P<at>\d{4}-\d{2}-\d{2}T\d{2}:\d{2})Z$")
ID_FORMAT = "GEO-platform-YYYY-MM-DDTHH:MMZ (e.g. US-ios-2026-12-01T10:05Z)"


@dataclass(frozen=True)
class Window:
    """One anomalous scored window (a row of anomaly_results)."""

    geo: str
    platform: str
    window_start: datetime
    window_end: datetime
    score: float
    drivers: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass
class Incident:
    id: str
    geo: str
    platform: str
    start: datetime  # first window's start
    first_window_end: datetime
    end: datetime  # last window's end
    peak_score: float
    windows: int
    reason: str  # of the peak window
    drivers: dict[str, Any]  # of the peak window

    @property
    def segment(self) -> str:
        return f"{self.geo}/{self.platform}"

    @property
    def driver_names(self) -> list[str]:
        """The features that drove the peak window, strongest first."""

        def strength(item: tuple[str, Any]) -> float:
            detail = item[1]
            return float(detail.get("z", 0.0)) if isinstance(detail, dict) else 0.0

        return [name for name, _ in sorted(self.drivers.items(), key=strength, reverse=True)]

    @property
    def driver_labels(self) -> list[str]:
        """The drivers strongest first, each with the detector's view that saw it and its
        calibrated sigma (`cpc_avg (sustained view, 5.4 sigma)`); rows scored before views
        were recorded show the name alone."""
        labels = []
        for name in self.driver_names:
            detail = self.drivers[name]
            if isinstance(detail, dict) and "view" in detail and "z" in detail:
                labels.append(f"{name} ({detail['view']} view, {float(detail['z']):.1f} sigma)")
            else:
                labels.append(name)
        return labels


def incident_id(geo: str, platform: str, first_window_end: datetime) -> str:
    return f"{geo.strip()}-{platform}-{first_window_end.astimezone(UTC):%Y-%m-%dT%H:%M}Z"


def parse_incident_id(text: str) -> tuple[str, str, datetime]:
    """(geo, platform, first window_end at minute precision); ValueError names what is wrong."""
    match = _ID.match(text.strip())
    if not match:
        raise ValueError(f"incident ID {text!r} is not of the form {ID_FORMAT}")
    geo, platform = match["geo"], match["platform"]
    if geo not in GEOS:
        raise ValueError(f"incident ID {text!r}: unknown geo {geo!r}")
    if platform not in PLATFORMS:
        raise ValueError(f"incident ID {text!r}: platform must be one of {', '.join(PLATFORMS)}")
    try:
        at = datetime.strptime(match["at"], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"incident ID {text!r}: {match['at']} is not a valid time") from None
    return geo, platform, at


def group_windows(windows: Iterable[Window], gap: timedelta = GAP) -> list[Incident]:
    """Incidents of the given anomalous windows, newest first.

    A window scored by several model versions appears once per version; it counts once, with
    its highest score. Filters on an incident's properties (peak score, verdict) belong after
    this call: filtering windows first would split incidents and change their IDs.
    """
    best: dict[tuple[str, str, datetime], Window] = {}
    for w in windows:
        key = (w.geo.strip(), w.platform, w.window_end)
        if key not in best or w.score > best[key].score:
            best[key] = w
    incidents: list[Incident] = []
    current: dict[tuple[str, str], Incident] = {}
    for (geo, platform, end), w in sorted(best.items(), key=lambda item: item[0]):
        open_one = current.get((geo, platform))
        if open_one is None or end - open_one.end > gap:
            open_one = Incident(
                incident_id(geo, platform, end),
                geo,
                platform,
                w.window_start,
                end,
                end,
                w.score,
                0,
                w.reason,
                dict(w.drivers),
            )
            current[(geo, platform)] = open_one
            incidents.append(open_one)
        open_one.end = end
        open_one.start = min(open_one.start, w.window_start)
        open_one.windows += 1
        if w.score > open_one.peak_score:
            open_one.peak_score, open_one.reason, open_one.drivers = w.score, w.reason, w.drivers
    incidents.sort(key=lambda inc: (inc.first_window_end, inc.id), reverse=True)
    return incidents
