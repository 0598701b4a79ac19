"""The queue: incidents newest first, refreshed live; choosing one opens its page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from adnomaly_app import data
from streaming.contract import GEOS, PLATFORMS
from streaming.incidents.queries import Filters, QueuedIncident, list_incidents
from streaming.incidents.verdicts import NO_VERDICT, Verdict

REFRESH_S = 10
RANGES = {"last hour": 1, "last 6 hours": 6, "last 24 hours": 24, "last 7 days": 168}
ANY = "any"


def sidebar_filters() -> Filters:
    """The filters, in the sidebar; a custom range is a pair of UTC dates."""
    st.sidebar.header("Filters")
    choice = st.sidebar.selectbox("time range", [*RANGES, "last 30 days", "custom dates"], index=2)
    now = datetime.now(UTC)
    until = None
    if choice == "custom dates":
        picked = st.sidebar.date_input("from / to (UTC)", value=(now.date(), now.date()))
        days = list(picked) if isinstance(picked, tuple | list) else [picked]
        first, last = days[0], days[-1]
        since = datetime.combine(first, datetime.min.time(), UTC)
        until = datetime.combine(last, datetime.min.time(), UTC) + timedelta(days=1)
    else:
        since = now - timedelta(hours=RANGES.get(choice, 720))
    geo = st.sidebar.selectbox("geo", [ANY, *GEOS])
    platform = st.sidebar.selectbox("platform", [ANY, *PLATFORMS])
    verdicts = {ANY: None, "not judged yet": NO_VERDICT, **{v.label: v.value for v in Verdict}}
    verdict = st.sidebar.selectbox("verdict", list(verdicts))
    min_score = st.sidebar.slider("minimum peak score", 0.0, 1.0, 0.0, 0.05)
    return Filters(
        since=since,
        until=until,
        geo=None if geo == ANY else geo,
        platform=None if platform == ANY else platform,
        verdict=verdicts[verdict],
        min_score=min_score,
    )


def queue_frame(queue: list[QueuedIncident]) -> pd.DataFrame:
    rows = []
    for item in queue:
        inc, v = item.incident, item.verdict
        rows.append(
            {
                "incident": inc.id,
                "segment": inc.segment,
                "start (UTC)": inc.start,
                "end (UTC)": inc.end,
                "windows": inc.windows,
                "peak score": round(inc.peak_score, 3),
                "verdict": v.verdict.label if v else "—",
                "drivers": ", ".join(inc.driver_names),
                "reason": inc.reason,
            }
        )
    return pd.DataFrame(rows)


@st.fragment(run_every=REFRESH_S)
def incident_queue(filters: Filters) -> None:
    with data.db() as conn:
        queue = list_incidents(conn, filters)
    judged = sum(1 for q in queue if q.verdict is not None)
    st.caption(
        f"{len(queue)} incident(s), {judged} judged · refreshed {datetime.now(UTC):%H:%M:%S} UTC"
        f" every {REFRESH_S} s"
    )
    if not queue:
        st.info("No incident matches the filters.")
        return
    frame = queue_frame(queue)
    event = st.dataframe(
        frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="queue",
        column_config={
            "start (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "end (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "peak score": st.column_config.ProgressColumn(
                format="%.3f", min_value=0.0, max_value=1.0
            ),
        },
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        open_incident(str(frame.iloc[rows[0]]["incident"]))
    with st.form("open-by-id", border=False):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        wanted = left.selectbox(
            "incident ID", [q.incident.id for q in queue], key="open-id", index=None
        )
        if right.form_submit_button("Open incident") and wanted:
            open_incident(wanted)


def open_incident(incident_id: str) -> None:
    """Navigate within the session (a new page load would mean a new login)."""
    st.query_params["incident"] = incident_id
    st.rerun(scope="app")
