"""The pipeline-health strip: refreshed on its own, so a slow answer never holds up the queue."""

from __future__ import annotations

import streamlit as st

from adnomaly_app import data
from streaming.incidents.health import format_age, pipeline_health

REFRESH_S = 15


def _ago(seconds: float | None) -> str:
    return "—" if seconds is None else f"{format_age(seconds)} ago"


@st.fragment(run_every=REFRESH_S)
def health_strip() -> None:
    health = pipeline_health(data.settings())  # from Prometheus, which scrapes every service
    worst = max(health.lag.items(), key=lambda item: item[1], default=None)
    cols = st.columns(4)
    rate = "—" if health.events_per_s is None else f"{health.events_per_s:,.1f}"
    cols[0].metric("events/s (last minute)", rate)
    cols[1].metric(
        "consumer lag (max)",
        "—" if worst is None else f"{worst[1]:,}",
        help="\n".join(f"{group}: {lag:,}" for group, lag in health.lag.items()) or None,
    )
    cols[2].metric("newest event", _ago(health.newest_event_age_s))
    cols[3].metric("newest feature window", _ago(health.newest_feature_age_s))
    for problem in health.problems:
        st.warning(problem)
