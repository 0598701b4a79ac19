"""Every read the incidents app and `adnomaly incidents` make of the detector's output and its
neighbours (anomaly_results, feature_aggregates, clickstream_events).

The detector is being reworked; its table is read here and nowhere else, so a column change is a
change to ANOMALOUS_WINDOWS alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
from psycopg import sql

from streaming.incidents.grouping import GAP, Incident, Window, group_windows, parse_incident_id
from streaming.incidents.verdicts import NO_VERDICT, Verdict, VerdictRecord, current_verdicts

# Anomalous windows of the running detector, from %(since)s on, optionally of one geo/platform;
# the champion's rows only (a challenger's rows are kept for model_comparison, never alerted).
ANOMALOUS_WINDOWS = (
    "SELECT geo, platform, window_start, window_end, score, drivers, reason"
    " FROM anomaly_results WHERE is_anomaly AND role = 'champion' AND window_end >= %(since)s"
    " AND (%(geo)s::text IS NULL OR geo = %(geo)s)"
    " AND (%(platform)s::text IS NULL OR platform = %(platform)s)"
)
LOOKBACK = timedelta(days=1)  # read this far before a range, so incidents it cuts keep their IDs
FEATURE_COLUMNS = (
    "event_count",
    "ctr_avg",
    "cpc_avg",
    "bounce_rate_avg",
    "conversion_rate",
    "unique_users",
    "events_per_user",
    "suspicious_ua_share",
)


class IncidentNotFoundError(LookupError):
    """No incident starts at the window an ID names."""


@dataclass(frozen=True)
class Filters:
    """The queue's filters; None means any."""

    since: datetime
    until: datetime | None = None
    geo: str | None = None
    platform: str | None = None
    verdict: str | None = None  # a Verdict value, NO_VERDICT, or None for any
    min_score: float = 0.0

    def __post_init__(self) -> None:
        if self.until is not None and self.until < self.since:
            raise ValueError(f"time range ends ({self.until}) before it starts ({self.since})")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"minimum score {self.min_score} is outside [0, 1]")
        allowed = {v.value for v in Verdict} | {NO_VERDICT}
        if self.verdict is not None and self.verdict not in allowed:
            raise ValueError(f"verdict filter {self.verdict!r} is not one of {sorted(allowed)}")


@dataclass(frozen=True)
class QueuedIncident:
    incident: Incident
    verdict: VerdictRecord | None


def _windows(
    conn: psycopg.Connection, since: datetime, geo: str | None, platform: str | None
) -> list[Window]:
    params = {"since": since, "geo": geo, "platform": platform}
    with conn.transaction():
        rows = conn.execute(ANOMALOUS_WINDOWS, params).fetchall()
    return [
        Window(g.strip(), p, ws, we, float(s), d or {}, r or "") for g, p, ws, we, s, d, r in rows
    ]


def _incidents_since(
    conn: psycopg.Connection, since: datetime, geo: str | None = None, platform: str | None = None
) -> list[Incident]:
    """Incidents with a window at or after `since`, whole: an incident running into the read's
    start from before is read further back until its first window."""
    start = since - LOOKBACK
    by_segment: dict[tuple[str, str], list[Window]] = {}
    for w in _windows(conn, start, geo, platform):
        by_segment.setdefault((w.geo, w.platform), []).append(w)
    for (seg_geo, seg_platform), found in by_segment.items():
        seg_start = start
        while min(w.window_end for w in found) - seg_start <= GAP:  # may continue from before
            seg_start -= LOOKBACK
            found = _windows(conn, seg_start, seg_geo, seg_platform)
        by_segment[(seg_geo, seg_platform)] = found
    windows = [w for found in by_segment.values() for w in found]
    return [inc for inc in group_windows(windows) if inc.end >= since]


def list_incidents(conn: psycopg.Connection, filters: Filters) -> list[QueuedIncident]:
    """The queue, newest first, each incident with the verdict in force."""
    found = _incidents_since(conn, filters.since, filters.geo, filters.platform)
    found = [
        inc
        for inc in found
        if (filters.until is None or inc.start <= filters.until)
        and inc.peak_score >= filters.min_score
    ]
    verdicts = current_verdicts(conn, [inc.id for inc in found])
    queue = [QueuedIncident(inc, verdicts.get(inc.id)) for inc in found]
    if filters.verdict == NO_VERDICT:
        return [q for q in queue if q.verdict is None]
    if filters.verdict is not None:
        return [q for q in queue if q.verdict and q.verdict.verdict.value == filters.verdict]
    return queue


def get_incident(conn: psycopg.Connection, incident_id: str) -> Incident:
    """The incident an ID names; ValueError for a malformed ID, IncidentNotFoundError when no
    incident starts at that window."""
    geo, platform, at = parse_incident_id(incident_id)
    for inc in _incidents_since(conn, at, geo, platform):
        if inc.id == incident_id.strip():
            return inc
    raise IncidentNotFoundError(f"no incident {incident_id} (see `adnomaly incidents list`)")


def segment_history(conn: psycopg.Connection, incident: Incident, days: int = 30) -> list[Incident]:
    """The same segment's earlier incidents (within `days` before this one), newest first."""
    since = incident.start - timedelta(days=days)
    found = _incidents_since(conn, since, incident.geo, incident.platform)
    return [inc for inc in found if inc.first_window_end < incident.first_window_end]


def segment_features(
    conn: psycopg.Connection, incident: Incident, before: timedelta, after: timedelta
) -> pd.DataFrame:
    """The segment's feature windows around the incident, plus the detector's score of each
    (the champion's; the highest if the champion changed meanwhile), one row per window_end."""
    query = sql.SQL(
        "SELECT f.window_end, {cols}, s.score FROM feature_aggregates f"
        " LEFT JOIN LATERAL (SELECT max(a.score) AS score FROM anomaly_results a"
        " WHERE a.geo = f.geo AND a.platform = f.platform AND a.window_end = f.window_end"
        " AND a.role = 'champion') s"
        " ON true WHERE f.geo = %s AND f.platform = %s AND f.window_end BETWEEN %s AND %s"
        " ORDER BY f.window_end"
    ).format(cols=sql.SQL(", ").join(sql.Identifier("f", c) for c in FEATURE_COLUMNS))
    params = (incident.geo, incident.platform, incident.start - before, incident.end + after)
    with conn.transaction():
        rows = conn.execute(query, params).fetchall()
    frame = pd.DataFrame(rows, columns=["window_end", *FEATURE_COLUMNS, "score"])
    frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
    return frame


def raw_events_sample(
    conn: psycopg.Connection, incident: Incident, limit: int = 50
) -> pd.DataFrame:
    """A random sample of the segment's stored clicks during the incident's span."""
    query = (
        'SELECT "timestamp", event_id, user_id_hash, campaign_id, ad_id, user_agent, cpc, ctr,'
        " conversion, bounce_rate FROM clickstream_events"
        ' WHERE geo = %s AND platform = %s AND "timestamp" >= %s AND "timestamp" < %s'
        " ORDER BY random() LIMIT %s"
    )
    params = (incident.geo, incident.platform, incident.start, incident.end, limit)
    with conn.transaction():
        cur = conn.execute(query, params)
        rows = cur.fetchall()
        names = [d.name for d in cur.description or []]
    frame = pd.DataFrame(rows, columns=names)
    return frame.sort_values("timestamp").reset_index(drop=True) if len(frame) else frame


def now() -> datetime:
    return datetime.now(UTC)
