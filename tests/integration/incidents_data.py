"""A fraud incident made the way the detector makes one, for the incidents tests.

Scored windows go through the detector's own writer (streaming/detection/results.py
write_results), with incident keys from its grouping rule; the segment's feature windows and some
raw clicks are stored beside them, as Flink and the DB sink would have. Each call picks a random
segment without recent results and the current minute, so no two calls (or runs on a kept test
stack) share a segment's incidents.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from streaming.contract import GEOS, PLATFORMS
from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.detection.alerts import incident_key
from streaming.detection.results import write_results
from streaming.incidents.grouping import incident_id
from streaming.settings import Settings

REASON = "suspicious_ua_clicks 41 vs 2.5 expected (9.3 sigma above)"


@dataclass(frozen=True)
class MadeIncident:
    id: str
    earlier_id: str
    geo: str
    platform: str
    start: datetime  # first anomalous window's start
    end: datetime  # last anomalous window's end
    peak: float
    clicks: int


def _row(geo: str, platform: str, end: datetime, score: float, version: str) -> dict[str, Any]:
    anomalous = score >= 0.5
    return {
        "geo": geo,
        "platform": platform,
        "window_start": end - timedelta(minutes=5),
        "window_end": end,
        "score": score,
        "is_anomaly": anomalous,
        "drivers": {"suspicious_ua_clicks": {"value": 41.0, "expected": 2.5, "z": 9.3}}
        if anomalous
        else {},
        "reason": REASON if anomalous else "",
        "model_version": version,
    }


def make_incident(settings: Settings) -> MadeIncident:
    with connect(settings) as conn:
        migrate(conn)
        taken = set(
            conn.execute(
                "SELECT DISTINCT trim(geo), platform FROM anomaly_results"
                " WHERE window_end > now() - interval '2 days'"
            ).fetchall()
        )
    free = [(g, p) for g in GEOS for p in PLATFORMS if (g, p) not in taken]
    assert free, "every segment has recent anomaly_results; restart the test stack"
    geo, platform = random.choice(free)  # a segment of its own: filters show only this test's
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
    version = f"test-{uuid.uuid4().hex[:8]}"
    scores = {m: 0.05 for m in range(-40, 11)}
    scores.update({-25: 0.7, -24: 0.6})  # an earlier, short incident of the same segment
    scores.update({0: 0.71, 1: 0.88, 2: 0.93, 3: 0.9, 4: 0.62})  # the incident
    rows = []
    open_key: tuple[str, datetime] | None = None
    for minute, score in sorted(scores.items()):
        row = _row(geo, platform, base + timedelta(minutes=minute), score, version)
        if row["is_anomaly"]:
            if open_key is None or row["window_end"] - open_key[1] > timedelta(minutes=5):
                open_key = (incident_key(geo, platform, row["window_end"]), row["window_end"])
            row["incident_key"] = open_key[0]
            open_key = (open_key[0], row["window_end"])
        rows.append(row)
    with connect(settings) as conn:
        migrate(conn)
        write_results(conn, rows)
        _features(conn, geo, platform, [base + timedelta(minutes=m) for m in scores], scores)
        clicks = _clicks(
            conn, geo, platform, base - timedelta(minutes=5), base + timedelta(minutes=4)
        )
    return MadeIncident(
        incident_id(geo, platform, base),
        incident_id(geo, platform, base - timedelta(minutes=25)),
        geo,
        platform,
        base - timedelta(minutes=5),
        base + timedelta(minutes=4),
        0.93,
        clicks,
    )


def _features(
    conn: psycopg.Connection,
    geo: str,
    platform: str,
    ends: list[datetime],
    scores: dict[int, float],
) -> None:
    params = []
    for end, score in zip(ends, scores.values(), strict=True):
        share = 0.4 if score >= 0.5 else 0.02
        params.append(
            (
                geo,
                platform,
                end - timedelta(minutes=5),
                end,
                0.02,
                0.5,
                300,
                0.6,
                0.03,
                200,
                1.5,
                share,
            )
        )
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO feature_aggregates (geo, platform, window_start, window_end, ctr_avg,"
            " bounce_rate_avg, event_count, cpc_avg, conversion_rate, unique_users,"
            " events_per_user, suspicious_ua_share) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (geo, platform, window_end) DO NOTHING",
            params,
        )


def _clicks(
    conn: psycopg.Connection, geo: str, platform: str, start: datetime, end: datetime
) -> int:
    """Raw clicks inside the span, as the DB sink stores them (bot user agents)."""
    count = 30
    step = (end - start) / count
    rows = [
        (
            uuid.uuid4().hex,
            start + step * i,
            uuid.uuid4().hex[:16],
            f"ad_{i % 7}",
            "camp_042",
            geo,
            platform,
            "python-requests/2.31 (bot)",
            0.55,
            0.04,
            0,
            0.85,
        )
        for i in range(count)
    ]
    with conn.transaction(), conn.cursor() as cur:
        for day in {start.date(), end.date()}:
            cur.execute("SELECT ensure_clickstream_partition(%s)", (day,))
        cur.executemany(
            'INSERT INTO clickstream_events (event_id, "timestamp", user_id_hash, ad_id,'
            " campaign_id, geo, platform, user_agent, cpc, ctr, conversion, bounce_rate)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return count
