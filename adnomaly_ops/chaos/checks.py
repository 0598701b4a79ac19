"""Checks beyond event counts: features against an independent computation and the online
store against the feature table.

Features: every window that lies wholly inside the experiment (so it holds no event from
before, whose history this run cannot vouch for) and that Flink must have closed (its end at
least the out-of-orderness behind the newest produced event) is recomputed in pandas from the
events stored in PostgreSQL, minus the ones Flink itself recorded as late in
`flink_dropped_events`, and compared with `feature_aggregates`. The features topic is read
too: a window may be replayed after a TaskManager restart (identical copies), but two different
rows for one window are a duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from streaming.db.connect import connect
from streaming.feature_contract import FEATURE_NAMES, parse_feature_row
from streaming.features.reference import compute_features
from streaming.kafka.inspect import read_since
from streaming.settings import Settings

KEY = ["geo", "platform", "window_end"]
_EVENTS_SQL = """
SELECT e."timestamp", e.geo, e.platform, e.user_id_hash, e.user_agent, e.ctr AS "CTR",
       e.bounce_rate, e.cpc AS "CPC", e.conversion
FROM clickstream_events e
WHERE e."timestamp" >= %s AND e."timestamp" < %s
  AND NOT EXISTS (SELECT 1 FROM flink_dropped_events d
                  WHERE d.event_id = e.event_id AND d.reason = 'late')
"""


@dataclass
class FeatureCheck:
    windows: int = 0
    missing: int = 0
    wrong: int = 0
    conflicting_copies: int = 0
    replayed_copies: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.windows > 0 and not (self.missing or self.wrong or self.conflicting_copies)


def _table(settings: Settings, lo: datetime, hi: datetime) -> pd.DataFrame:
    cols = ", ".join(["geo", "platform", "window_start", "window_end", *FEATURE_NAMES])
    with connect(settings) as conn:
        rows = conn.execute(
            f"SELECT {cols} FROM feature_aggregates"  # noqa: S608 (a fixed column list)
            " WHERE window_start >= %s AND window_end <= %s",
            (lo, hi),
        ).fetchall()
    return pd.DataFrame(
        rows, columns=["geo", "platform", "window_start", "window_end", *FEATURE_NAMES]
    )


def expected_windows(settings: Settings, lo: datetime, hi: datetime) -> pd.DataFrame:
    """Windows starting at or after `lo` and ending by `hi`, from the stored events alone."""
    with connect(settings) as conn:
        rows = conn.execute(_EVENTS_SQL, (lo, hi)).fetchall()
    columns = [
        "timestamp",
        "geo",
        "platform",
        "user_id_hash",
        "user_agent",
        "CTR",
        "bounce_rate",
        "CPC",
        "conversion",
    ]
    events = pd.DataFrame(rows, columns=columns)
    events["geo"] = events["geo"].str.strip()
    ref = compute_features(events)
    starts = pd.to_datetime(ref["window_start"], utc=True)
    ends = pd.to_datetime(ref["window_end"], utc=True)
    return ref[(starts >= pd.Timestamp(lo)) & (ends <= pd.Timestamp(hi))]


def check_features(settings: Settings, lo: datetime, hi: datetime) -> FeatureCheck:
    expected = expected_windows(settings, lo, hi)
    table = _table(settings, lo, hi)
    for frame in (expected, table):
        frame["geo"] = frame["geo"].str.strip()
        frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True).astype(
            "datetime64[ms, UTC]"
        )
    merged = expected.merge(table, on=KEY, how="left", suffixes=("", "_flink"), indicator=True)
    result = FeatureCheck(windows=len(expected))
    missing = merged[merged["_merge"] == "left_only"]
    result.missing = len(missing)
    present = merged[merged["_merge"] == "both"]
    bad = np.zeros(len(present), dtype=bool)
    for name in FEATURE_NAMES:
        ours = pd.to_numeric(present[name], errors="coerce").to_numpy(dtype=float)
        flink = pd.to_numeric(present[f"{name}_flink"], errors="coerce").to_numpy(dtype=float)
        bad |= ~np.isclose(ours, flink, rtol=0, atol=1e-6, equal_nan=True)
    result.wrong = int(bad.sum())
    for _, row in pd.concat([missing.head(3), present[bad].head(3)]).iterrows():
        result.examples.append(
            f"{row['geo']}|{row['platform']} {row['window_end']:%H:%M}: expected "
            f"{row['event_count']} events, table has {row.get('event_count_flink')}"
        )
    return result


def features_topic_copies(settings: Settings, since: datetime, check: FeatureCheck) -> None:
    """Count replayed and conflicting copies of windows on the features topic since `since`."""
    copies: dict[tuple[str, str, Any], set[bytes]] = defaultdict(set)
    counts: dict[tuple[str, str, Any], int] = defaultdict(int)
    for record in read_since(settings, settings.features_topic, since):
        value = record.value
        try:
            row = parse_feature_row(value)
        except ValueError:
            continue  # the ingestor's DLQ covers malformed rows; not a window copy
        key = (row.geo, row.platform, row.window_end)
        counts[key] += 1
        copies[key].add(value)
    check.replayed_copies = sum(n - 1 for n in counts.values() if n > 1)
    check.conflicting_copies = sum(1 for v in copies.values() if len(v) > 1)


def online_lag(settings: Settings, store: Any, lo: datetime) -> tuple[int, int, list[str]]:
    """(segments checked, segments whose online row is not the table's newest window, examples).

    Every segment with a window ending after `lo` must be served online at that newest window.
    """
    from streaming.features.retrieval import online_features

    with connect(settings) as conn:
        newest = conn.execute(
            "SELECT geo, platform, max(window_end) FROM feature_aggregates WHERE window_end > %s"
            " GROUP BY geo, platform",
            (lo,),
        ).fetchall()
    if not newest:
        return 0, 0, []
    rows = [{"geo": g.strip(), "platform": p} for g, p, _ in newest]
    served = online_features(store, rows)
    behind = [
        f"{r['geo']}|{r['platform']} online {r['event_timestamp']} vs table {end}"
        for r, (_, _, end) in zip(served, newest, strict=True)
        if r["event_timestamp"] is None or r["event_timestamp"] < end
    ]
    return len(rows), len(behind), behind[:3]
