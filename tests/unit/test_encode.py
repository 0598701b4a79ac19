"""The vectorized encoder writes exactly the bytes orjson writes for the same event, including
the cases it hands back to orjson (floats off the grid, text JSON must escape)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from streaming.contract import ClickEvent, format_timestamp, parse_event
from streaming.generator import EventBatch, TrafficGenerator
from streaming.generator.batch import VECTOR_MIN
from streaming.generator.encode import FIELDS, number_text, text_table

START = datetime(2024, 2, 28, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def batch() -> EventBatch:
    return TrafficGenerator(5, "salt").batch(5_000, START, START + timedelta(days=2))


def _orjson_values(batch: EventBatch) -> list[bytes]:
    """The reference: orjson over the batch's frame, one event at a time."""
    frame = batch.to_frame().drop(columns="incident_id")
    frame["timestamp"] = [format_timestamp(t.to_pydatetime()) for t in frame["timestamp"]]
    return [orjson.dumps(row) for row in frame.to_dict("records")]


def test_wire_bytes_equal_orjsons_and_the_models(batch: EventBatch) -> None:
    values = batch.values()
    assert values == _orjson_values(batch)
    assert all(parse_event(v).to_json_bytes() == v for v in values[:500])


def test_lines_are_the_values_newline_separated(batch: EventBatch) -> None:
    lines = batch.lines()
    assert lines.well_formed()
    assert lines.text == b"".join(v + b"\n" for v in batch.values())


def test_floats_off_the_grid_and_big_integers_fall_back_to_orjson(batch: EventBatch) -> None:
    rng = np.random.default_rng(1)
    odd = replace(batch, cpc=rng.uniform(0.1, 1.2, len(batch)), ctr=batch.ctr + 1e-9)
    assert odd.values() == _orjson_values(odd)
    ints = np.array([0, 1, 7, 999, 1000, -1, 123456789], dtype=np.int64)
    assert number_text(ints).to_pylist() == [orjson.dumps(int(i)) for i in ints]
    floats = np.array([0.0, 1.0, 2.0, 2.0001, 0.30000000000000004, 1e-7, -0.5, 1e22])
    assert number_text(floats).to_pylist() == [orjson.dumps(float(f)) for f in floats]


def test_a_user_hash_json_must_escape_is_written_by_orjson(batch: EventBatch) -> None:
    hashes = batch.user_hash.copy()
    hashes[3] = 'a"b\\c\n'
    odd = replace(batch, user_hash=hashes)
    assert odd.values() == _orjson_values(odd)


def test_text_tables_refuse_text_json_would_escape() -> None:
    assert text_table(["plain", "ünïcode"]).to_pylist() == [b"plain", "ünïcode".encode()]
    with pytest.raises(ValueError, match="escape"):
        text_table(['say "hi"'])


def test_field_order_is_the_models() -> None:
    assert list(ClickEvent.model_fields) == FIELDS


def test_an_empty_batch_has_no_values(batch: EventBatch) -> None:
    empty = batch.take(np.zeros(len(batch), dtype=bool))
    assert empty.values() == []
    assert len(empty.lines()) == 0


def test_small_batches_take_orjson_and_write_the_same_bytes(batch: EventBatch) -> None:
    small = batch.take(np.arange(VECTOR_MIN - 1))
    assert small.values() == batch.values()[: VECTOR_MIN - 1] == _orjson_values(small)
