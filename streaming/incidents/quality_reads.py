"""The reads behind live model quality: fraud labels, the detector's anomalous windows (through
queries.ANOMALOUS_WINDOWS, the one statement that knows anomaly_results) and the verdicts in
force, then quality.assess over them. Used by Dagster's detection_live_quality and the demo."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from streaming.incidents.grouping import Window, group_windows
from streaming.incidents.quality import Label, Quality, assess
from streaming.incidents.queries import ANOMALOUS_WINDOWS
from streaming.incidents.verdicts import current_verdicts

# read this far around a period, so an incident or label cut by its edge is matched whole
MARGIN = timedelta(hours=6)
LABELS = (
    "SELECT incident_id, scenario, geo, platform, start_ts, end_ts FROM fraud_labels"
    " WHERE start_ts < %s AND end_ts > %s ORDER BY start_ts, incident_id"
)


def labels_between(conn: psycopg.Connection, since: datetime, until: datetime) -> list[Label]:
    """Labels whose [start, end) overlaps [since, until)."""
    with conn.transaction():
        rows = conn.execute(LABELS, (until, since)).fetchall()
    return [Label(i, s, g.strip(), p, a, b) for i, s, g, p, a, b in rows]


def windows_between(conn: psycopg.Connection, since: datetime, until: datetime) -> list[Window]:
    """Anomalous windows (every model version's) ending in [since, until)."""
    params = {"since": since, "geo": None, "platform": None}
    with conn.transaction():
        rows = conn.execute(ANOMALOUS_WINDOWS, params).fetchall()
    return [
        Window(g.strip(), p, ws, we, float(s), d or {}, r or "")
        for g, p, ws, we, s, d, r in rows
        if we < until
    ]


def live_quality(
    conn: psycopg.Connection,
    period: tuple[datetime, datetime],
    judged_until: datetime | None = None,
) -> Quality:
    """The running detector's quality over `period` (rules: streaming/incidents/quality.py)."""
    since, until = period[0] - MARGIN, period[1] + MARGIN
    labels = labels_between(conn, since, until)
    windows = windows_between(conn, since, until)
    ids = [inc.id for inc in group_windows(windows)]
    verdicts = {k: v.verdict.value for k, v in current_verdicts(conn, ids).items()}
    return assess(labels, windows, verdicts, period, judged_until)
