"""The two pictures of detection_live_quality, as PNG bytes for the asset's metadata.

Matplotlib's object API (`Figure`): no global state or GUI backend in a Dagster worker.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure

from streaming.incidents.quality import Quality

CAUGHT, MISSED, TRUE, FALSE = "#2e7d32", "#c62828", "#1565c0", "#ef6c00"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _x(at: datetime) -> float:
    return float(date2num(at))


def _days(span: timedelta) -> float:
    return span / timedelta(days=1)


def timeline_png(quality: Quality) -> bytes:
    """One row per segment that had a label or an alert: labels as wide bars (green caught, red
    missed), alerts as thin bars inside them (blue true, orange false)."""
    segments = sorted(
        {f"{o.label.geo}/{o.label.platform}" for o in quality.labels}
        | {a.incident.segment for a in quality.alerts}
    )
    row = {seg: i for i, seg in enumerate(segments)}
    fig = Figure(figsize=(10, 1.2 + 0.35 * max(len(segments), 1)))
    ax = fig.subplots()
    for o in quality.labels:
        y = row[f"{o.label.geo}/{o.label.platform}"]
        color = CAUGHT if o.caught else MISSED
        ax.barh(
            y,
            _days(o.label.end - o.label.start),
            left=_x(o.label.start),
            height=0.7,
            color=color,
            alpha=0.35,
        )
    for a in quality.alerts:
        span = _days(a.incident.end - a.incident.start)
        color = TRUE if a.true else FALSE
        y = row[a.incident.segment]
        ax.barh(y, span, left=_x(a.incident.start), height=0.25, color=color)
    ax.set_yticks(range(len(segments)), segments)
    ax.set_xlim(_x(quality.period[0]), _x(quality.period[1]))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))
    ax.set_xlabel(f"{quality.period[0]:%Y-%m-%d} (UTC)")
    ax.set_title(
        "labels (wide: green caught, red missed) and alerts (thin: blue true, orange false)",
        fontsize=9,
    )
    return _png(fig)


def delays_png(quality: Quality) -> bytes:
    """Detection delay of each caught label, in minutes, by scenario."""
    caught = sorted(
        (o for o in quality.labels if o.delay is not None), key=lambda o: o.label.scenario
    )
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    names = [f"{o.label.scenario}\n{o.label.geo}/{o.label.platform}" for o in caught]
    minutes = [o.delay.total_seconds() / 60 for o in caught if o.delay is not None]
    ax.bar(range(len(minutes)), minutes, color=CAUGHT)
    ax.set_xticks(range(len(names)), names, fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("minutes after the fraud began")
    median = quality.median_delay
    if median is not None:
        ax.axhline(median.total_seconds() / 60, color="black", linestyle="--", linewidth=1)
    ax.set_title("detection delay per caught label (dashed: median)", fontsize=9)
    return _png(fig)
