"""Splitting a polled batch: columns for the good records, in consumption order, whichever path
accepted them; the exact pydantic error for each bad one; nothing lost or invented."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from streaming.contract import ContractError, parse_event
from streaming.sinks.records import MAX_EVENT_BYTES, Accepted, split
from tests.unit.test_contract import VALID


class Msg:
    """A consumed record, as much of confluent_kafka.Message as the sinks read."""

    def __init__(
        self, value: bytes | None, partition: int = 0, offset: int = 0, key: bytes | None = b"k"
    ) -> None:
        self._value, self._partition, self._offset, self._key = value, partition, offset, key

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


def _event(i: int, **changes: object) -> bytes:
    return orjson.dumps({**VALID, "event_id": f"{i:032x}", **changes})


def test_a_clean_batch_is_all_accepted_in_order() -> None:
    msgs = [Msg(_event(i), partition=i % 3, offset=100 + i) for i in range(50)]
    polled = split(msgs)
    assert polled.rejected == []
    acc = polled.accepted
    assert acc.raw == [m.value() for m in msgs]
    assert acc.partition.tolist() == [i % 3 for i in range(50)]
    assert acc.offset.tolist() == [100 + i for i in range(50)]
    assert acc.table.column("event_id").to_pylist() == [f"{i:032x}" for i in range(50)]
    assert polled.last_offsets == {0: 148, 1: 149, 2: 147}


def test_records_only_pydantic_accepts_keep_their_place() -> None:
    """Non-canonical timestamps and non-ASCII text are left by the fast path; pydantic accepts
    them, and they land between the others in consumption order, with pydantic's values."""
    values = [_event(i) for i in range(10)]
    values[3] = _event(3, timestamp="2024-01-15T11:30:00.5+01:00")
    values[7] = _event(7, user_agent="Mozilla/5.0 (Linux; ünïcode) 😀")
    polled = split([Msg(v, offset=i) for i, v in enumerate(values)])
    assert polled.rejected == []
    acc = polled.accepted
    assert acc.offset.tolist() == list(range(10))
    assert acc.raw == values
    rows = acc.table.to_pylist()
    assert rows[3]["timestamp"] == "2024-01-15T10:30:00.500Z"
    assert acc.ts_ms[3] == int(parse_event(values[3]).timestamp.timestamp() * 1000)
    assert rows[7]["user_agent"] == "Mozilla/5.0 (Linux; ünïcode) 😀"


def test_bad_records_get_pydantics_exact_error() -> None:
    bad = {
        2: b"not json",
        4: _event(4, CTR=0.9),
        5: _event(5, geo="ZZ"),
        6: b"",
        8: b'{"x": "' + b"a" * MAX_EVENT_BYTES + b'"}',
    }
    values = [bad.get(i, _event(i)) for i in range(10)]
    polled = split([Msg(v, partition=1, offset=i, key=b"key%d" % i) for i, v in enumerate(values)])
    assert polled.accepted.offset.tolist() == [0, 1, 3, 7, 9]
    by_offset = {r.offset: r for r in polled.rejected}
    assert sorted(by_offset) == sorted(bad)
    for offset in (2, 4, 5):
        with pytest.raises(ContractError) as err:
            parse_event(values[offset])
        assert by_offset[offset].error == str(err.value)
        assert by_offset[offset].fields == err.value.fields
        assert by_offset[offset].raw == values[offset]
        assert by_offset[offset].key == b"key%d" % offset
    assert by_offset[6].error == "empty record"
    assert by_offset[8].error.startswith("oversized record")
    assert polled.last_offsets == {1: 9}


def test_accepted_take_concat_and_without() -> None:
    one = split([Msg(_event(i), partition=i % 2, offset=i) for i in range(6)]).accepted
    two = split([Msg(_event(10 + i), partition=2, offset=i) for i in range(3)]).accepted
    both = Accepted.concat([one, Accepted.empty(), two])
    assert len(both) == 9
    assert both.table.num_rows == 9
    kept = both.without({0})
    assert kept.partition.tolist() == [1, 1, 1, 2, 2, 2]
    assert kept.raw == [both.raw[i] for i in (1, 3, 5, 6, 7, 8)]
    assert kept.table.column("event_id").to_pylist() == [
        orjson.loads(r)["event_id"] for r in kept.raw
    ]
    assert np.array_equal(kept.ts_ms, both.ts_ms[[1, 3, 5, 6, 7, 8]])
    assert len(Accepted.concat([])) == 0
