"""The ingestor's record handling and the backfill's day partitions, without servers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from streaming.feature_contract import FEATURE_NAMES, FeatureRow
from streaming.features.backfill import _write_day, partition_dir
from streaming.features.ingestor import _idle
from streaming.features.rows import latest_per_entity, parse_records, push_frame
from streaming.features.store import FeastPaths

END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _row(geo: str = "US", platform: str = "ios", minutes: int = 0, ctr: float = 0.02) -> FeatureRow:
    values = dict(zip(FEATURE_NAMES, (ctr, 0.4, 12, 0.3, 0.01, 4, 3.0, 0.25), strict=True))
    end = END + timedelta(minutes=minutes)
    return FeatureRow.model_validate(
        {
            "geo": geo,
            "platform": platform,
            "window_start": end - timedelta(minutes=5),
            "window_end": end,
            **values,
        }
    )


@dataclass
class Msg:
    raw: bytes | None
    off: int

    def value(self) -> bytes | None:
        return self.raw

    def key(self) -> bytes | None:
        return b"k"

    def partition(self) -> int | None:
        return 1

    def offset(self) -> int | None:
        return self.off


def test_bad_records_become_rejects_naming_the_problem() -> None:
    good = _row().to_json_bytes()
    bad = [b"{nope", None, b"x" * 20_000, good.replace(b'"ios"', b'"tv"')]
    msgs = [Msg(good, 0)] + [Msg(raw, i) for i, raw in enumerate(bad, 1)]
    parsed, rejected = parse_records(msgs)
    assert [(p.row, p.partition, p.offset) for p in parsed] == [(_row(), 1, 0)]
    assert [r.offset for r in rejected] == [1, 2, 3, 4]
    assert rejected[0].error.startswith("not a FeatureRow")
    assert rejected[1].error == "empty record"
    assert rejected[2].error.startswith("oversized record")
    assert rejected[3].fields == ("platform",) and rejected[3].raw == msgs[4].raw


def test_only_the_newest_window_per_entity_is_kept_whatever_the_order() -> None:
    rows = [_row(minutes=3, ctr=0.03), _row(minutes=5, ctr=0.05), _row(minutes=1), _row("DE")]
    latest = latest_per_entity(rows)
    assert sorted((r.geo, r.ctr_avg) for r in latest) == [("DE", 0.02), ("US", 0.05)]


def test_push_frame_has_the_feature_view_types() -> None:
    frame = push_frame([_row(), _row("FR", "web", 1)])
    assert list(frame.columns) == ["geo", "platform", "window_end", *FEATURE_NAMES]
    assert frame["ctr_avg"].dtype == np.float32
    assert frame["event_count"].dtype == np.int64 and frame["unique_users"].dtype == np.int64
    assert str(frame["window_end"].dtype) == "datetime64[ns, UTC]"
    assert frame["window_end"].iloc[1] == END + timedelta(minutes=1)


def _paths(tmp: Path) -> FeastPaths:
    return FeastPaths(tmp / "repo", tmp / "registry.db", tmp / "offline", "view")


def test_a_day_partition_is_replaced_whole_and_removed_when_empty(tmp_path: Path) -> None:
    paths, day = _paths(tmp_path), date(2026, 3, 1)
    r = _row()
    values = (
        r.geo,
        r.platform,
        r.window_start,
        r.window_end,
        *[getattr(r, f) for f in FEATURE_NAMES],
    )
    first = _write_day(
        paths, day, [values, (*values[:3], r.window_end + timedelta(minutes=1), *values[4:])]
    )
    second = _write_day(paths, day, [values])
    assert first.path == second.path == partition_dir(paths, day) / "part-0.parquet"
    table = pq.read_table(second.path)
    assert table.num_rows == 1 and str(table.schema.field("ctr_avg").type) == "float"
    assert [p.name for p in partition_dir(paths, day).iterdir()] == ["part-0.parquet"]
    assert _write_day(paths, day, []).path is None
    assert not partition_dir(paths, day).exists()


def test_idle_time_counts_only_from_the_first_assignment() -> None:
    now = time.monotonic()
    assert _idle([], now - 60) == 0.0  # still joining the group: never idle
    # started a minute ago, assigned a second ago: one second idle, not sixty
    assert 0.9 < _idle([now - 1.0], now - 60) < 5
    assert 9.9 < _idle([now - 30.0], now - 10.0) < 15  # the last record came after assignment
