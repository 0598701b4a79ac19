"""The columnar fast path never accepts what the pydantic contract refuses, and what it accepts
has pydantic's values: checked on thousands of mutated records (every field's bounds, wrong
types, missing/extra/duplicate fields, bad and non-canonical timestamps, NaN, unicode and
oversized user agents, broken JSON, several documents in one value)."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from pydantic import BaseModel, Field

from streaming.contract import (
    BOUNCE_RANGE,
    CPC_RANGE,
    CTR_RANGE,
    GEOS,
    PLATFORMS,
    USER_AGENT_MAX_LEN,
    ClickEvent,
    ContractError,
    check_wire,
    format_timestamp,
    parse_event,
)
from streaming.contract.fast import accept, layout, parse
from streaming.contract.rules import SCHEMA, UnsupportedContract, field_rule
from streaming.generator import TrafficGenerator
from streaming.wire_lines import Lines
from tests.unit.test_contract import VALID

Pairs = list[tuple[str, str]]  # (key, JSON text of the value), rendered in this order


def _pairs(record: dict[str, Any]) -> Pairs:
    return [(k, json.dumps(v, ensure_ascii=False)) for k, v in record.items()]


def _render(pairs: Pairs) -> bytes:
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}").encode()


def _set(pairs: Pairs, key: str, text: str) -> Pairs:
    return [(k, text if k == key else v) for k, v in pairs]


def _num(x: float) -> str:
    if math.isfinite(x):
        return repr(x)
    return {"nan": "NaN", "inf": "Infinity"}.get(str(x), "-Infinity")


def _float_texts(lo: float, hi: float) -> list[str]:
    edges = [lo, hi, (lo + hi) / 2, math.nextafter(lo, -1), math.nextafter(hi, 2), lo - 1e-12]
    texts = [_num(x) for x in edges] + [repr(hi + 1e-15), f"{lo:.25f}", f"{hi:.25f}"]
    texts += ["NaN", "Infinity", "-Infinity", "-0.0", "0", "1", "1e400", "-1e400", "1E0", "5e-1"]
    return [*texts, '"0.5"', "true", "false", "null", "[]", "{}", "0.50000000000000000001"]


def _field_mutations() -> dict[str, list[str]]:
    hexes = ["0" * 32, "f" * 32, "F" * 32, "0" * 31, "0" * 33, "0" * 31 + "g", "0" * 32 + "\\n"]
    ts = [
        "2024-02-29T00:00:00.000Z",
        "2023-02-29T00:00:00.000Z",
        "2024-04-31T12:00:00.000Z",
        "2024-13-01T00:00:00.000Z",
        "2024-00-10T00:00:00.000Z",
        "2024-01-00T00:00:00.000Z",
        "2024-01-15T24:00:00.000Z",
        "2024-01-15T23:60:00.000Z",
        "2024-01-15T23:59:60.000Z",
        "2024-01-15T23:59:59.999Z",
        "1970-01-01T00:00:00.000Z",
        "1969-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
        "2024-01-15T10:30:00.000+00:00",
        "2024-01-15T12:30:00.123+02:00",
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00.12Z",
        "2024-01-15T10:30:00.123456Z",
        "2024-01-15T10:30:00.123",
        "2024-01-15 10:30:00.123Z",
        "2024-01-15t10:30:00.123z",
        " 2024-01-15T10:30:00.123Z",
        "2024-01-15T10:30:00.123Z ",
        "2024-1-15T10:30:00.123Z",
        "20240115T103000.123Z",
        "2024-01-15T10:30:00.123Z\\n",
        "2024-01-15",
        "",
        "yesterday",
        "2024-01-15T10:30:00,123Z",
        "2024-01-15T10:30:00.123\\u005a",
        "\\u0032024-01-15T10:30:00.123Z",
    ]
    uas = [  # JSON string contents, escapes included
        "",
        "x",
        "x" * USER_AGENT_MAX_LEN,
        "x" * (USER_AGENT_MAX_LEN + 1),
        "é" * USER_AGENT_MAX_LEN,
        "é" * (USER_AGENT_MAX_LEN + 1),
        "😀" * 300,
        r"tab\there",
        r"nul\u0000",
        r"\u00e9t\u00e9",
        r"\ud83d\ude00",
        r"\ud800",
        r"quote\" inside",
        r"back\\slash",
        r"\/",
        r"\u0007bell",
        " ",
        r"a\r\nb",
        "Mozilla/5.0 (X11; Linux x86_64)",
    ]
    texts: dict[str, list[str]] = {
        "event_id": [json.dumps(h) if "\\" not in h else f'"{h}"' for h in hexes],
        "user_id_hash": ['"0123456789abcdef"', '"0123456789ABCDEF"', '"0123456789abcde"'],
        "ad_id": ['"ad_0000"', '"ad_9999"', '"ad_123"', '"AD_1234"', '"ad_١٢٣٤"', '"ad_1234 "'],
        "campaign_id": ['"camp_000"', '"camp_1000"', '"camp_12a"', '"camp_\\u0030\\u0031\\u0032"'],
        "geo": [json.dumps(g) for g in GEOS[:5]] + ['"us"', '"ZZ"', '""', '"\\u0055S"', '"US "'],
        "platform": [json.dumps(p) for p in PLATFORMS] + ['"Web"', '"ios\\u0000"', '"web "'],
        "user_agent": [f'"{u}"' for u in uas],
        "timestamp": [f'"{t}"' for t in ts],
        "CPC": _float_texts(*CPC_RANGE),
        "CTR": _float_texts(*CTR_RANGE),
        "bounce_rate": _float_texts(*BOUNCE_RANGE),
        "conversion": ["0", "1", "-0", "2", "-1", "1.0", "1e0", "true", '"1"', "null", "9" * 20],
    }
    for name in texts:  # every field may also be null, a number, a list or an object
        texts[name] += ["null", "12345678901234567890123456789012", "[]", '{"a": 1}']
    return texts


FIELD_MUTATIONS = _field_mutations()


def _structural(pairs: Pairs, rng: random.Random) -> bytes:
    key, text = rng.choice(pairs)
    choices: list[Callable[[], bytes]] = [
        lambda: _render([p for p in pairs if p[0] != key]),
        lambda: _render([*pairs, ("is_fraud", "true")]),
        lambda: _render([*pairs, (key, text)]),
        lambda: _render([*pairs, (key, rng.choice(FIELD_MUTATIONS[key]))]),
        lambda: _render([(key, text), *pairs]),
        lambda: _render(pairs).replace(b'"event_id"', b'"event\\u005fid"'),
        lambda: _render(pairs).replace(b",", b" ,\n ", 1),
        lambda: _render(pairs).replace(b",", b",\r\n", 1),
        lambda: b" \t" + _render(pairs) + b" ",
        lambda: _render(pairs) + b" " + _render(pairs),
        lambda: _render(pairs) + b"\n",
        lambda: _render(pairs) + b"x",
        lambda: _render(pairs)[:-1],
        lambda: b"\xef\xbb\xbf" + _render(pairs),
        lambda: _render(pairs) + b"\x00",
        lambda: _render(pairs).replace(b"Mozilla", b"Moz\xffilla"),
        lambda: b"[" + _render(pairs) + b"]",
        lambda: rng.choice([b"", b" ", b"null", b"{}", b"[]", b"1", b'"text"', b"{", b"}"]),
        lambda: b'{"x":' + _render(pairs) + b"}",
    ]
    return rng.choice(choices)()


def _mutant(base: Pairs, rng: random.Random) -> bytes:
    if rng.random() < 0.2:
        return _structural(base, rng)
    pairs = base
    for _ in range(rng.choice([1, 1, 1, 2])):
        key = rng.choice([k for k, _ in pairs])
        pairs = _set(pairs, key, rng.choice(FIELD_MUTATIONS[key]))
    return _render(pairs)


def _pydantic(raw: bytes) -> ClickEvent | None:
    try:
        return parse_event(raw)
    except ContractError:
        return None


def _assert_same_values(row: dict[str, Any], ts_ms: int, event: ClickEvent) -> None:
    expected = dict(event.__dict__)
    stamp = expected.pop("timestamp")
    assert row.pop("timestamp") == format_timestamp(stamp)
    assert ts_ms == (stamp - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    for name, value in expected.items():
        assert type(row[name]) is type(value) and row[name] == value, name
        if isinstance(value, float):
            assert math.copysign(1, row[name]) == math.copysign(1, value), name


def _bases(n: int) -> list[Pairs]:
    start = datetime(2024, 1, 15, tzinfo=UTC)
    batch = TrafficGenerator(3, "salt").batch(n, start, start + timedelta(days=2))
    return [_pairs(orjson.loads(v)) for v in batch.values()] + [_pairs(VALID)]


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_accepts_nothing_pydantic_refuses_and_keeps_its_values(seed: int) -> None:
    rng = random.Random(seed)
    bases = _bases(200)
    values = [_mutant(rng.choice(bases), rng) for _ in range(1500)]
    values += [_render(rng.choice(bases)) for _ in range(300)]  # mixed in: whole batches read
    rng.shuffle(values)
    events = [_pydantic(v) for v in values]
    start = 0
    while start < len(values):  # batches of all sizes, so that runs get split to single values
        end = start + rng.choice([1, 2, 3, 8, 40, 200])
        fast = accept(values[start:end])
        positions = np.flatnonzero(fast.ok) + start
        rows = fast.table.to_pylist()
        for position, row, ts_ms in zip(positions, rows, fast.ts_ms.tolist(), strict=True):
            event = events[position]
            assert event is not None, f"accepted what pydantic refuses: {values[position]!r}"
            _assert_same_values(row, ts_ms, event)
        start = end
    # and it is not trivially strict: of the records pydantic takes, those this path leaves on
    # purpose (duplicate keys, whitespace or newlines around, non-ASCII, non-canonical
    # timestamps) are a minority even in this mutation mix
    alone = [bool(accept([v]).ok[0]) for v in values]
    taken = [a for a, e in zip(alone, events, strict=True) if e is not None]
    assert sum(taken) >= 0.6 * len(taken)
    whole = accept(values)  # one big batch of mostly garbage: whatever it accepts is valid
    assert all(events[i] is not None for i in np.flatnonzero(whole.ok))


@pytest.mark.parametrize("field", sorted(FIELD_MUTATIONS))
def test_each_field_mutation_alone(field: str) -> None:
    """Every mutation of every field, each in a batch of valid records, one by one."""
    base = _pairs(VALID)
    for text in FIELD_MUTATIONS[field]:
        value = _render(_set(base, field, text))
        fast = accept([_render(base), value, _render(base)])
        event = _pydantic(value)
        assert fast.ok[0] and fast.ok[2]
        if fast.ok[1]:
            assert event is not None, f"{field}={text} accepted by the fast path only"
            row = fast.table.slice(1, 1).to_pylist()[0]
            _assert_same_values(row, int(fast.ts_ms[1]), event)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("CPC", _num(CPC_RANGE[0])),
        ("CPC", _num(CPC_RANGE[1])),
        ("CPC", "1"),
        ("CTR", _num(CTR_RANGE[1])),
        ("bounce_rate", _num(BOUNCE_RANGE[0])),
        ("conversion", "1"),
        ("conversion", "-0"),
        ("user_agent", '"' + "x" * USER_AGENT_MAX_LEN + '"'),
        ("user_agent", '"semi;colon (X11)"'),
        ("user_agent", '"\\u00e9t\\u00e9"'),
        ("timestamp", '"2024-02-29T23:59:59.999Z"'),
        ("timestamp", '"9999-12-31T23:59:59.999Z"'),
        ("geo", '"\\u0055S"'),
    ],
)
def test_valid_edge_values_take_the_fast_path(field: str, text: str) -> None:
    value = _render(_set(_pairs(VALID), field, text))
    fast = accept([value])
    assert fast.ok[0]
    event = _pydantic(value)
    assert event is not None
    _assert_same_values(fast.table.to_pylist()[0], int(fast.ts_ms[0]), event)


@pytest.mark.parametrize(
    "values",
    [
        [b"", b"{}{}"],
        [_render(_pairs(VALID)) + b" " + _render(_pairs(VALID)), b" "],
        [_render(_pairs(VALID)) + b"\n" + _render(_pairs(VALID)), b"\t"],
        [_render(_pairs(VALID))[:40], b"{" + _render(_pairs(VALID))[40:]],
        [_render(_pairs(VALID)) + b"\r" + _render(_pairs(VALID)), b"null"],
    ],
)
def test_values_never_borrow_each_others_rows(values: list[bytes]) -> None:
    """Row i is value i: a value holding two documents next to one holding none, or a document
    split across two values, is never accepted here."""
    batch = [_render(_pairs(VALID)), *values, _render(_pairs(VALID))]
    fast = accept(batch)
    assert fast.ok.tolist() == [True] + [False] * len(values) + [True]


def test_a_bad_record_costs_only_itself() -> None:
    values = [_render(_set(_pairs(VALID), "ad_id", f'"ad_{i:04d}"')) for i in range(500)]
    values[123] = b'{"event_id": '
    values[321] = _render(_set(_pairs(VALID), "geo", '"ZZ"'))
    fast = accept(values)
    assert np.flatnonzero(~fast.ok).tolist() == [123, 321]
    ads = fast.table.column("ad_id").to_pylist()
    assert ads == [f"ad_{i:04d}" for i in range(500) if i not in (123, 321)]


def test_generated_traffic_takes_the_fast_path_entirely() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    batch = TrafficGenerator(8, "salt").batch(20_000, start, start + timedelta(days=1))
    fast = accept(batch.lines())
    assert fast.ok.all()
    assert fast.ts_ms.tolist() == batch.ts_ms.tolist()
    assert fast.table.column("event_id").to_pylist() == batch.event_ids()


def test_layout_and_parse_can_run_apart() -> None:
    values = [_render(_pairs(VALID)), b"nope", _render(_pairs(VALID))]
    laid = layout(values)
    assert laid.kept.tolist() == [0, 2]
    assert accept(parse(laid)).ok.tolist() == [True, False, True]
    assert accept([]).ok.size == 0
    assert accept(Lines.join([])).table.num_rows == 0


def test_schema_is_the_models_fields_in_order() -> None:
    assert SCHEMA.names == list(ClickEvent.model_fields)


def test_a_constraint_the_fast_path_cannot_enforce_fails_loudly() -> None:
    class Other(BaseModel):
        even: int = Field(multiple_of=2)
        ratio: float = Field(gt=0, json_schema_extra={"x": 1})
        name: str = Field(pattern="^a", min_length=1)
        tags: list[str]

    assert field_rule("ratio", Other.model_fields["ratio"])
    assert field_rule("name", Other.model_fields["name"])
    with pytest.raises(UnsupportedContract, match="even"):
        field_rule("even", Other.model_fields["even"])
    with pytest.raises(UnsupportedContract, match="tags"):
        field_rule("tags", Other.model_fields["tags"])


def test_check_wire_on_a_big_batch_names_the_record_pydantic_refuses() -> None:
    values = [_render(_set(_pairs(VALID), "ad_id", f'"ad_{i % 10_000:04d}"')) for i in range(2_000)]
    values[1500] = _render(_set(_pairs(VALID), "geo", '"ZZ"'))
    values[700] = _render(_set(_pairs(VALID), "timestamp", '"2024-01-15T12:30:00+02:00"'))
    for given in (values, Lines.join(values)):
        with pytest.raises(ContractError, match="record 1500: geo") as err:
            check_wire(given)
        assert err.value.fields == ("geo",)
    del values[1500]
    assert check_wire(values) == check_wire(Lines.join(values)) == len(values)
