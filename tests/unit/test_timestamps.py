"""Canonical wire timestamps for whole columns: the same text as the contract's own formatter,
and a parse that refuses every date the calendar does not have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from streaming.contract import format_timestamp
from streaming.timestamps import YEARS, format_canonical, parse_canonical

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_MS = (datetime(YEARS[1], 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // timedelta(
    milliseconds=1
)


def _ms_samples() -> np.ndarray:
    rng = np.random.default_rng(7)
    edges = [0, 1, 999, 86_399_999, 951_782_400_000, 951_868_800_000, 4_107_542_400_000, LAST_MS]
    leap_days = [
        (datetime(y, 2, 29, 12, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)
        for y in (1972, 2000, 2024, 2400, 9996)
    ]
    return np.concatenate([rng.integers(0, LAST_MS, 20_000), edges, leap_days]).astype(np.int64)


def test_format_matches_the_contracts_formatter() -> None:
    ms = _ms_samples()
    text = format_canonical(ms).cast(pa.string()).to_pylist()
    assert text == [format_timestamp(EPOCH + timedelta(milliseconds=int(m))) for m in ms]


def test_parse_inverts_format() -> None:
    ms = _ms_samples()
    parsed, real = parse_canonical(format_canonical(ms).cast(pa.string()))
    assert real.all()
    assert np.array_equal(parsed, ms)


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T00:00:00.000Z",
        "1900-02-29T00:00:00.000Z",
        "2024-04-31T00:00:00.000Z",
        "2024-13-01T00:00:00.000Z",
        "2024-00-01T00:00:00.000Z",
        "2024-01-00T00:00:00.000Z",
        "2024-01-32T00:00:00.000Z",
        "2024-01-01T24:00:00.000Z",
        "2024-01-01T23:60:00.000Z",
        "2024-01-01T23:59:60.000Z",
        "1969-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00.000Z",
    ],
)
def test_dates_that_do_not_exist_are_not_real(text: str) -> None:
    good = "2024-02-29T23:59:59.999Z"
    _, real = parse_canonical(pa.array([good, text, good]))
    assert real.tolist() == [True, False, True]


def test_parse_refuses_a_column_that_is_not_fixed_width() -> None:
    with pytest.raises(ValueError, match="canonical"):
        parse_canonical(pa.array(["2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59Z"]))
    assert parse_canonical(pa.array([], pa.string()))[0].size == 0
