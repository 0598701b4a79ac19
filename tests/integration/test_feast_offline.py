"""Backfill on the real PostgreSQL: historical retrieval equals the feature_aggregates rows,
point in time (newest window_end ≤ the request, within the 3-day TTL), and a rerun replaces days."""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.feature_contract import FEATURE_NAMES
from streaming.features.backfill import backfill, partition_dir
from streaming.features.retrieval import historical_features
from streaming.settings import Settings
from tests.integration.test_feast_repo import AppliedRepo, feast, feature_row, run_cli

pytestmark = pytest.mark.integration
__all__ = ["feast"]  # the module-scoped fixture this module uses

ENTITIES = [("US", "ios"), ("US", "web"), ("DE", "android"), ("JP", "ios")]
TTL = timedelta(days=3)
COLS = ["geo", "platform", "window_start", "window_end", *FEATURE_NAMES]


@pytest.fixture(scope="module")
def first_day(stack: Settings) -> Iterator[date]:
    """Two days of windows on a day no other run uses; deleted afterwards."""
    day = date(2040, 1, 1) + timedelta(days=uuid.uuid4().int % 30_000)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    rows = []
    for i, (geo, platform) in enumerate(ENTITIES):
        for k in range(2 * 24 * 6):  # every 10 minutes for two days, staggered per entity
            row = feature_row(geo, platform, start + timedelta(minutes=10 * k + i + 1))
            values = [getattr(row, c) for c in COLS]
            if k % 50 == 7:
                values[COLS.index("cpc_avg")] = None  # nullable in the table: NaN offline
            rows.append(values)
    with connect(stack) as conn:
        migrate(conn)
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO feature_aggregates ({', '.join(COLS)})"  # noqa: S608
                f" VALUES ({', '.join(['%s'] * len(COLS))})",
                rows,
            )
    yield day
    with connect(stack) as conn:
        conn.execute(
            "DELETE FROM feature_aggregates WHERE window_end >= %s AND window_end < %s",
            (start, start + timedelta(days=3)),
        )


def _pg_rows(stack: Settings, day: date) -> pd.DataFrame:
    lo = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    with connect(stack) as conn:
        cur = conn.execute(
            f"SELECT {', '.join(COLS)} FROM feature_aggregates"  # noqa: S608
            " WHERE window_end >= %s AND window_end < %s",
            (lo, lo + timedelta(days=3)),
        )
        return pd.DataFrame(cur.fetchall(), columns=COLS)


def _requests(day: date, seed: int) -> pd.DataFrame:
    """Request times before the first window, inside, on exact window ends, within the TTL
    after the last window and beyond it."""
    rng = random.Random(seed)
    lo = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    out = []
    for geo, platform in ENTITIES:
        times = [
            lo - timedelta(hours=1),
            lo + timedelta(minutes=11),
            lo + timedelta(days=5, hours=3),
        ]
        times += [lo + timedelta(seconds=rng.uniform(0, 6 * 86400)) for _ in range(30)]
        out += [(geo, platform, t) for t in times]
    return pd.DataFrame(out, columns=["geo", "platform", "event_timestamp"])


def _expected(pg: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """The oracle: newest row with request - TTL ≤ window_end ≤ request, per entity."""
    by_entity = {k: g.sort_values("window_end") for k, g in pg.groupby(["geo", "platform"])}
    out = []
    for geo, platform, ts in requests.itertuples(index=False):
        group = by_entity[(geo, platform)]
        ends = list(group["window_end"])
        i = bisect.bisect_right(ends, ts) - 1
        hit = group.iloc[i] if i >= 0 and ends[i] >= ts - TTL else None
        out.append({f: np.nan if hit is None or hit[f] is None else hit[f] for f in FEATURE_NAMES})
    return pd.DataFrame(out)


def _assert_point_in_time(feast: AppliedRepo, stack: Settings, day: date, seed: int) -> None:
    requests = _requests(day, seed)
    got = historical_features(feast.store, requests)
    assert len(got) == len(requests)
    assert (got[["geo", "platform"]].to_numpy() == requests[["geo", "platform"]].to_numpy()).all()
    want = _expected(_pg_rows(stack, day), requests)
    assert want["ctr_avg"].notna().sum() > len(requests) // 2, "the requests test too little"
    assert want["ctr_avg"].isna().sum() >= 2 * len(ENTITIES)
    for name in FEATURE_NAMES:
        cast = np.float64 if name in ("event_count", "unique_users") else np.float32
        expected = want[name].astype(float).astype(cast)
        actual = got[name].astype(float).astype(cast)
        np.testing.assert_array_equal(actual.to_numpy(), expected.to_numpy(), err_msg=name)


def test_backfill_then_historical_retrieval_equals_postgres(
    feast: AppliedRepo, stack: Settings, first_day: date
) -> None:
    end = first_day + timedelta(days=2)  # a day without rows: no partition
    args = ["--start", str(first_day), "--end", str(end), "--repo", str(feast.paths.repo)]
    run_cli("features", "backfill", *args)
    assert partition_dir(feast.paths, first_day).is_dir()
    assert (partition_dir(feast.paths, first_day + timedelta(days=1)) / "part-0.parquet").is_file()
    assert not partition_dir(feast.paths, end).exists()
    _assert_point_in_time(feast, stack, first_day, seed=1)


def test_rerun_replaces_a_day_and_stays_point_in_time(
    feast: AppliedRepo, stack: Settings, first_day: date
) -> None:
    backfill(stack, feast.paths, first_day, first_day + timedelta(days=1))
    lo = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    with connect(stack) as conn:
        changed = conn.execute(
            "UPDATE feature_aggregates SET ctr_avg = 0.0444 WHERE window_end >= %s AND"
            " window_end < %s AND geo = 'US' AND platform = 'ios'",
            (lo, lo + timedelta(days=1)),
        ).rowcount
        conn.execute(
            "DELETE FROM feature_aggregates WHERE window_end >= %s AND window_end < %s",
            (lo + timedelta(days=1), lo + timedelta(days=2)),
        )
    assert changed == 144
    exports = backfill(stack, feast.paths, first_day, first_day + timedelta(days=1))
    assert [e.rows for e in exports] == [144 * len(ENTITIES), 0]
    assert not partition_dir(feast.paths, first_day + timedelta(days=1)).exists()
    _assert_point_in_time(feast, stack, first_day, seed=2)
