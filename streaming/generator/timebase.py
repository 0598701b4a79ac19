"""Epoch-millisecond helpers: the generator works in int64 ms so whole batches stay in numpy."""

from __future__ import annotations

from datetime import UTC, datetime

MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60 * MS_PER_SECOND
MS_PER_HOUR = 60 * MS_PER_MINUTE
MS_PER_DAY = 24 * MS_PER_HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(value: datetime) -> int:
    """Integer arithmetic (not float timestamps) so a datetime maps to the same ms every time.

    Naive datetimes are refused: guessing a zone would silently shift every event.
    """
    if value.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware (UTC), got naive {value!r}")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MS_PER_SECOND + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    seconds, millis = divmod(int(ms), MS_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=millis * 1000)
