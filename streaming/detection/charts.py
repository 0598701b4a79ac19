"""One PNG per detected incident: the segment's features around it, the labelled incident
shaded, anomalous windows and the first alert marked, so a reviewer can see in a second what
the detector reacted to (and how late).

Matplotlib's object API (`Figure`) rather than pyplot: no global state, no GUI backend, safe
in a Dagster worker or a thread.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PANELS = (
    ("event_count", "clicks"),
    ("events_per_user", "clicks / user"),
    ("suspicious_ua_share", "suspicious UA share"),
    ("ctr_avg", "CTR"),
    ("cpc_avg", "CPC"),
    ("bounce_rate_avg", "bounce rate"),
    ("conversion_rate", "conversion rate"),
    ("score", "anomaly score"),
)


def incident_chart(
    features: pd.DataFrame,
    scored: pd.DataFrame,
    incident: dict[str, Any],
    path: Path,
    margin: timedelta = timedelta(minutes=45),
) -> Path:
    """`features` and `scored` are row-aligned (scoring.score output order); `incident` is a
    row of metrics.match()'s per-incident table."""
    start, end = incident["start"], incident["end"]
    near = (
        (features["geo"] == incident["geo"])
        & (features["platform"] == incident["platform"])
        & (features["window_end"] >= start - margin)
        & (features["window_end"] <= end + margin)
    ).to_numpy()
    view = features[near].assign(score=scored["score"].to_numpy()[near])
    flagged = scored["is_anomaly"].to_numpy()[near]

    def minutes(t: Any) -> Any:
        return (t - start) / pd.Timedelta(minutes=1)

    times = minutes(view["window_end"]).to_numpy()
    fig = Figure(figsize=(10, 11))
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.94, bottom=0.05, hspace=0.12)
    delay = incident["delay_slides"]
    for ax, (column, label) in zip(axes, PANELS, strict=True):
        ax.plot(times, view[column], color="#1f77b4", linewidth=1.2)
        ax.scatter(times[flagged], view[column][flagged], color="#d62728", s=12, zorder=3)
        ax.axvspan(0, minutes(end), color="#d62728", alpha=0.08)
        if pd.notna(delay):
            ax.axvline(float(delay), color="#d62728", linestyle="--")
        ax.set_ylabel(label, fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(3))  # fewer tick labels: most of the draw time
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[-1].axhline(0.5, color="grey", linestyle=":", linewidth=1)
    verdict = f"first alert after {delay:.1f} slides" if pd.notna(delay) else "not detected"
    fig.suptitle(
        f"{incident['scenario']} on {incident['geo']}|{incident['platform']} "
        f"(intensity {incident['intensity']:.2f}) - {verdict}\n"
        f"incident start {start:%Y-%m-%d %H:%M:%S} UTC; shaded: labelled incident; "
        "red dots: anomalous windows; dashed: first alert",
        fontsize=10,
    )
    axes[-1].set_xlabel("window end, minutes after the incident started (1 slide = 1 minute)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    return path
