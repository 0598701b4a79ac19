"""Entry point of the incidents app (`adnomaly ui` runs `streamlit run` on this file).

Nothing but the login form is rendered until the login succeeds: the script stops before any
query runs, so a session without it receives no data at all.
"""

from __future__ import annotations

import streamlit as st

from adnomaly_app import data
from adnomaly_app.auth import credentials_match
from adnomaly_app.health_view import health_strip
from adnomaly_app.incident_view import incident_page
from adnomaly_app.queue_view import incident_queue, sidebar_filters

st.set_page_config(page_title="Adnomaly incidents", layout="wide")


def login() -> str | None:
    """The logged-in analyst, or None after rendering the login form."""
    user = st.session_state.get("analyst")
    if isinstance(user, str):
        return user
    st.title("Adnomaly incidents")
    with st.form("login"):
        name = st.text_input("user")
        password = st.text_input("password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if credentials_match(data.settings(), name, password):
            st.session_state["analyst"] = name
            st.rerun()
        st.error("Wrong user or password.")
    return None


def main() -> None:
    analyst = login()
    if analyst is None:
        st.stop()
    with st.sidebar:
        st.write(f"Logged in as **{analyst}**")
        if st.button("Log out"):
            st.session_state.clear()
            st.rerun()
    recorded = st.session_state.pop("recorded", None)
    if recorded:
        st.success(recorded)
    health_strip()
    filters = sidebar_filters()  # on every page, so they survive a visit to an incident
    incident_id = st.query_params.get("incident")
    if incident_id:
        incident_page(incident_id, analyst)
        return
    st.title("Fraud incidents")
    incident_queue(filters)


main()
