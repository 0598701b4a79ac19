"""The incident page's chart: the segment's features around the incident, the alert span shaded.

One small panel per feature (each on its own scale), the features that drove the alert first,
and the detector's score on top, so an analyst sees at a glance what moved and when.
"""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd

from streaming.incidents.queries import FEATURE_COLUMNS

UTC = alt.Scale(type="utc")  # times as stored, whatever the browser's zone
PANEL_WIDTH = 900  # pixels; a vconcat cannot take the container's width
# detector channels (the names in `drivers`) -> the stored feature that shows each
DRIVER_FEATURE = {
    "event_count": "event_count",
    "ctr_avg": "ctr_avg",
    "cpc_avg": "cpc_avg",
    "bounce_rate_avg": "bounce_rate_avg",
    "conversions": "conversion_rate",
    "suspicious_ua_clicks": "suspicious_ua_share",
    "repeat_clicks": "events_per_user",
}


def panel_order(driver_names: list[str]) -> list[str]:
    """'score', then the features behind the drivers (strongest first), then the rest."""
    driven = [DRIVER_FEATURE[d] for d in driver_names if d in DRIVER_FEATURE]
    ordered = list(dict.fromkeys(driven))
    return ["score", *ordered, *[c for c in FEATURE_COLUMNS if c not in ordered]]


def features_chart(
    frame: pd.DataFrame, start: datetime, end: datetime, driver_names: list[str]
) -> alt.VConcatChart:
    """`frame`: queries.segment_features (window_end, the features, score)."""
    band = pd.DataFrame({"start": [pd.Timestamp(start)], "end": [pd.Timestamp(end)]})
    driven = {DRIVER_FEATURE[d] for d in driver_names if d in DRIVER_FEATURE}
    panels = []
    for name in panel_order(driver_names):
        title = f"{name} (driver)" if name in driven else name
        shade = (
            alt.Chart(band)
            .mark_rect(color="#d62728", opacity=0.15)
            .encode(x=alt.X("start:T", title=None, scale=UTC), x2="end:T")
        )
        line = (
            alt.Chart(frame[["window_end", name]].dropna())
            .mark_line(point=True, color="#d62728" if name in driven else "#1f77b4")
            .encode(
                x=alt.X("window_end:T", title=None, scale=UTC, axis=alt.Axis(format="%H:%M")),
                y=alt.Y(f"{name}:Q", title=None, scale=alt.Scale(zero=False)),
                tooltip=[alt.Tooltip("utchoursminutes(window_end):T", title="UTC"), f"{name}:Q"],
            )
        )
        panels.append(alt.layer(shade, line).properties(title=title, height=90, width=PANEL_WIDTH))
    return alt.vconcat(*panels).resolve_scale(x="shared")
