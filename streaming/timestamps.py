"""The canonical wire timestamp, `YYYY-MM-DDTHH:MM:SS.mmmZ`, for whole columns at once.

Fixed width, so a column of them is a (rows, 24) byte matrix: formatting and parsing are a few
numpy operations instead of a datetime per event. Civil dates use Howard Hinnant's
days-from-civil algorithms (proleptic Gregorian, as Python's datetime).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from numpy.typing import NDArray

TIMESTAMP_WIDTH: Final = 24
TIMESTAMP_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
YEARS: Final = (1970, 9999)  # what `parse_canonical` calls real; other years are left to pydantic
MS_PER_DAY: Final = 86_400_000

# (start column, digits) of year, month, day, hour, minute, second, millisecond
_FIELDS: Final = ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 3))
_TEMPLATE: Final = np.frombuffer(b"0000-00-00T00:00:00.000Z", dtype=np.uint8)
_DAYS_IN_MONTH: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _civil(days: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _days(year: NDArray[np.int64], month: NDArray[np.int64], day: NDArray[np.int64]) -> Any:
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def format_canonical(ts_ms: NDArray[np.int64]) -> Any:
    """Epoch milliseconds -> a pyarrow binary array of canonical timestamps."""
    days, ms = np.divmod(ts_ms.astype(np.int64), MS_PER_DAY)
    year, month, day = _civil(days)
    hms, milli = np.divmod(ms, 1000)
    hour, rest = np.divmod(hms, 3600)
    minute, second = np.divmod(rest, 60)
    out = np.tile(_TEMPLATE, (ts_ms.size, 1))
    for (col, width), value in zip(
        _FIELDS, (year, month, day, hour, minute, second, milli), strict=True
    ):
        for k in range(width):
            out[:, col + width - 1 - k] += (value // 10**k % 10).astype(np.uint8)
    offsets = np.arange(0, TIMESTAMP_WIDTH * (ts_ms.size + 1), TIMESTAMP_WIDTH, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), ts_ms.size, [None, pa.py_buffer(offsets), pa.py_buffer(out)]
    )


def parse_canonical(text: Any) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """A string column whose every value matches TIMESTAMP_PATTERN -> (epoch ms, real), where
    `real` is False for a date that does not exist (2023-02-29, month 13, 24:00, :60) or a
    year outside YEARS."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    if n and not (np.diff(offsets) == TIMESTAMP_WIDTH).all():
        raise ValueError("not a column of canonical timestamps")
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
    digits = data[offsets[0] : offsets[-1]].reshape(n, TIMESTAMP_WIDTH).astype(np.int64) - 48
    year, month, day, hour, minute, second, milli = (
        sum(digits[:, col + k] * 10 ** (width - 1 - k) for k in range(width))
        for col, width in _FIELDS
    )
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    real = (
        (year >= YEARS[0])
        & (year <= YEARS[1])
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= month_days)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
    )
    seconds = ((_days(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    return (seconds * 1000 + milli).astype(np.int64), real
