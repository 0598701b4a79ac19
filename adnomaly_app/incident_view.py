"""One incident: what the detector saw, the segment's features around it, its history, the raw
clicks behind it, and the verdict form."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from adnomaly_app import data
from adnomaly_app.charts import features_chart
from streaming.incidents.grouping import Incident
from streaming.incidents.queries import (
    IncidentNotFoundError,
    get_incident,
    raw_events_sample,
    segment_features,
    segment_history,
)
from streaming.incidents.verdicts import (
    Verdict,
    VerdictError,
    current_verdicts,
    record_verdict,
    verdict_history,
)

AROUND_BEFORE, AROUND_AFTER = timedelta(minutes=60), timedelta(minutes=30)


def incident_page(incident_id: str, analyst: str) -> None:
    if st.button("← back to the queue"):
        del st.query_params["incident"]
        st.session_state.pop("queue", None)  # the row chosen there must not reopen this page
        st.rerun()
    with data.db() as conn:
        try:
            incident = get_incident(conn, incident_id)
        except (ValueError, IncidentNotFoundError) as exc:
            st.error(str(exc))
            return
        features = segment_features(conn, incident, AROUND_BEFORE, AROUND_AFTER)
        history = segment_history(conn, incident)
        events = raw_events_sample(conn, incident)
        verdicts = verdict_history(conn, incident.id)
        earlier = current_verdicts(conn, [inc.id for inc in history])
    st.header(f"Incident {incident.id}")
    summary(incident, verdicts[0].verdict.label if verdicts else None)
    verdict_form(incident, analyst)
    if verdicts:
        st.subheader("Verdicts (the newest is in force)")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "verdict": v.verdict.label,
                        "analyst": v.analyst,
                        "decided (UTC)": v.decided_at,
                        "note": v.note,
                    }
                    for v in verdicts
                ]
            ),
            hide_index=True,
        )
    st.subheader("Features of the segment around the incident")
    if features.empty:
        st.info("No feature windows stored for this segment around the incident.")
    else:
        chart = features_chart(features, incident.start, incident.end, incident.driver_names)
        st.altair_chart(chart)
    st.subheader(f"Earlier incidents of {incident.segment} (30 days)")
    if history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "incident": h.id,
                        "start (UTC)": h.start,
                        "end (UTC)": h.end,
                        "peak score": round(h.peak_score, 3),
                        "reason": h.reason,
                        "verdict": earlier[h.id].verdict.label if h.id in earlier else "—",
                    }
                    for h in history
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("none")
    st.subheader("Raw clicks behind it (random sample from PostgreSQL)")
    if events.empty:
        st.info("No stored click of this segment in the incident's span.")
    else:
        st.dataframe(events, hide_index=True)


def summary(incident: Incident, verdict: str | None) -> None:
    cols = st.columns(3)
    cols[0].metric("segment", incident.segment)
    cols[1].metric("peak score", f"{incident.peak_score:.3f}")
    cols[2].metric("verdict", verdict or "—")
    minutes = (incident.end - incident.start).total_seconds() / 60
    st.markdown(
        f"**Span:** {incident.start:%Y-%m-%d %H:%M} to {incident.end:%Y-%m-%d %H:%M} UTC"
        f" ({minutes:.0f} min, first window start to last window end)"
    )
    st.markdown(f"**Why:** {incident.reason or '(no explanation stored)'}")
    if incident.drivers:
        st.markdown("**Drivers:** " + ", ".join(incident.driver_labels))
    st.caption(f"{incident.windows} anomalous window(s); the chart shades the span")


def verdict_form(incident: Incident, analyst: str) -> None:
    with st.form("verdict", clear_on_submit=True):
        choice = st.radio(
            "verdict", list(Verdict), format_func=lambda v: v.label, horizontal=True, index=None
        )
        note = st.text_area("note (optional)", max_chars=2000)
        if not st.form_submit_button("Record verdict"):
            return
    if choice is None:
        st.error("Choose a verdict first.")
        return
    with data.db() as conn:
        try:
            stored = record_verdict(conn, incident, Verdict(choice), analyst, note)
        except VerdictError as exc:
            st.error(str(exc))
            return
    st.session_state["recorded"] = f"Recorded: {stored.verdict.label} by {stored.analyst}"
    st.rerun()
