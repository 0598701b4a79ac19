"""The DB sink's COPY rows: column order, exact floats, escaping of any user agent, event days.
Read back by the rules of PostgreSQL's COPY text format (tab-separated, backslash escapes)."""

from __future__ import annotations

import re
from datetime import date

import orjson
import pytest

from streaming.contract import parse_event
from streaming.sinks.db import COLUMN_NAMES, copy_rows, days
from streaming.sinks.records import Accepted, split
from tests.unit.test_contract import VALID
from tests.unit.test_sink_records import Msg

_UNESCAPE = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def _rows(*values: bytes, **changes: object) -> list[dict[str, str]]:
    values = values or (orjson.dumps({**VALID, **changes}),)
    accepted = split([Msg(v, partition=3, offset=42 + i) for i, v in enumerate(values)]).accepted
    assert len(accepted) == len(values)
    text = copy_rows(accepted).decode()
    assert text.endswith("\n")
    rows = [line.split("\t") for line in text[:-1].split("\n")]
    return [
        {
            name: re.sub(r"\\(.)", lambda m: _UNESCAPE[m[1]], field)
            for name, field in zip(COLUMN_NAMES, row, strict=True)
        }
        for row in rows
    ]


def test_columns_in_table_order_with_the_source_position() -> None:
    (row,) = _rows()
    assert row["event_id"] == VALID["event_id"]
    assert row["timestamp"] == "2024-01-15T10:30:00.000Z"
    assert (row["kafka_partition"], row["kafka_offset"]) == ("3", "42")
    assert (row["cpc"], row["ctr"]) == ("0.75", "0.025")


@pytest.mark.parametrize("value", [0.1 + 0.2 - 0.2, 1.0, 0.3333333333333333, 0.5000000000000001])
def test_floats_round_trip_exactly(value: float) -> None:
    (row,) = _rows(CPC=value)
    assert float(row["cpc"]) == value


@pytest.mark.parametrize(
    "ua",
    ['quote " inside', "comma, and \\ backslash", "back\\slash\\n", "é ünïcödé 😀", "x" * 512],
)
def test_any_user_agent_survives_copy_escaping(ua: str) -> None:
    (row,) = _rows(user_agent=ua)
    assert row["user_agent"] == ua


def test_escaping_applies_to_the_whole_batch_when_one_record_needs_it() -> None:
    plain = orjson.dumps(VALID)
    tricky = orjson.dumps({**VALID, "user_agent": "back \\ slash \\t"})
    rows = _rows(plain, tricky, plain)
    ua = VALID["user_agent"]
    assert [r["user_agent"] for r in rows] == [ua, "back \\ slash \\t", ua]
    assert [r["kafka_offset"] for r in rows] == ["42", "43", "44"]


def test_a_non_canonical_timestamp_is_stored_as_its_utc_instant() -> None:
    (row,) = _rows(timestamp="2024-01-15T12:30:00.123456+02:00")
    assert row["timestamp"] == "2024-01-15T10:30:00.123Z"
    stamp = orjson.dumps({**VALID, "timestamp": "2024-01-15T12:30:00.123456+02:00"})
    assert parse_event(stamp).timestamp.isoformat() == "2024-01-15T10:30:00.123000+00:00"


def test_days_are_utc_days() -> None:
    values = [
        orjson.dumps({**VALID, "timestamp": t})
        for t in (
            "2024-01-15T23:59:59.999Z",
            "2024-01-16T00:00:00.000Z",
            "2024-01-16T01:00:00+02:00",
        )
    ]
    accepted = split([Msg(v) for v in values]).accepted
    assert days(accepted) == [date(2024, 1, 15), date(2024, 1, 16)]


def test_rows_of_several_polls_stay_aligned() -> None:
    """A write covers several polls (table chunks) next to single-chunk Kafka positions."""
    parts = []
    for poll in range(3):
        values = [
            orjson.dumps({**VALID, "event_id": f"{poll:016x}{i:016x}", "user_agent": f"ua {i}"})
            for i in range(5 + poll)
        ]
        parts.append(
            split(
                [Msg(v, partition=poll, offset=10 * poll + i) for i, v in enumerate(values)]
            ).accepted
        )
    accepted = Accepted.concat(parts)
    assert accepted.table.column("event_id").num_chunks == 3
    text = copy_rows(accepted).decode()
    rows = [line.split("\t") for line in text[:-1].split("\n")]
    got = [(r[0], r[7], r[-2], r[-1]) for r in rows]
    expected = [
        (f"{poll:016x}{i:016x}", f"ua {i}", str(poll), str(10 * poll + i))
        for poll in range(3)
        for i in range(5 + poll)
    ]
    assert got == expected
