"""The DB sink's COPY text rows: field order, float round-trip, escaping of the user agent."""

from __future__ import annotations

from datetime import UTC, datetime

from streaming.sinks.db import COLUMN_NAMES, _copy_row
from streaming.sinks.records import Accepted

FIELDS = {
    "event_id": "0" * 32,
    "timestamp": datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=UTC),
    "user_id_hash": "a1b2c3d4e5f67890",
    "ad_id": "ad_1234",
    "campaign_id": "camp_567",
    "geo": "US",
    "platform": "web",
    "user_agent": "Mozilla/5.0",
    "CPC": 0.1 + 0.2,
    "CTR": 0.025,
    "conversion": 1,
    "bounce_rate": 0.45,
}


def _row(**changes: object) -> list[str]:
    fields = {**FIELDS, **changes}
    accepted = Accepted(b"{}", fields["timestamp"], 3, 42, fields)  # type: ignore[arg-type]
    line = _copy_row(accepted)
    assert line.endswith("\n")
    return line[:-1].split("\t")


def test_columns_in_table_order() -> None:
    row = _row()
    assert len(row) == len(COLUMN_NAMES)
    assert (
        dict(zip(COLUMN_NAMES, row, strict=True))["timestamp"] == "2024-01-15T10:30:00.123000+00:00"
    )
    assert row[-2:] == ["3", "42"]


def test_floats_round_trip_exactly() -> None:
    assert float(_row()[COLUMN_NAMES.index("cpc")]) == 0.1 + 0.2


def test_user_agent_escaped_for_copy() -> None:
    ua = _row(user_agent="a\tb\\c\nd")[COLUMN_NAMES.index("user_agent")]
    assert ua == "a\\tb\\\\c\\nd"
