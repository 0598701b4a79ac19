"""How busy the ad network is at a given moment: a daily curve with an evening peak, and a
weekend curve that wakes later and stays flatter.

The curve is in UTC: most of the 36 markets are European, so UTC is close to their local time,
and one global curve keeps the per-(geo, platform) shares independent of the hour (which the
feature baselines rely on). The weekly mean is 1.0, so `base_rate * multiplier` averages to
`base_rate` over a week.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from streaming.generator.timebase import MS_PER_HOUR, to_ms

WEEKDAY_PROFILE = (
    0.45,
    0.32,
    0.25,
    0.22,
    0.22,
    0.28,
    0.45,
    0.70,
    0.90,
    1.00,
    1.05,
    1.10,
    1.15,
    1.10,
    1.05,
    1.05,
    1.10,
    1.25,
    1.45,
    1.60,
    1.65,
    1.50,
    1.15,
    0.75,
)
WEEKEND_PROFILE = (
    0.60,
    0.45,
    0.33,
    0.27,
    0.24,
    0.24,
    0.30,
    0.42,
    0.60,
    0.80,
    0.98,
    1.10,
    1.18,
    1.20,
    1.18,
    1.15,
    1.18,
    1.25,
    1.35,
    1.45,
    1.48,
    1.38,
    1.10,
    0.80,
)

_RAW_WEEK = np.array(WEEKDAY_PROFILE * 5 + WEEKEND_PROFILE * 2, dtype=np.float64)
# Knot values, Monday 00:00 first; linear in between, so the mean of the knots is the mean rate.
WEEK_KNOTS: NDArray[np.float64] = _RAW_WEEK / _RAW_WEEK.mean()
_HOURS_PER_WEEK = 168
_EPOCH_HOUR_OF_WEEK = 3 * 24  # 1970-01-01 was a Thursday


def multiplier_ms(ts_ms: NDArray[np.int64] | NDArray[np.float64]) -> NDArray[np.float64]:
    pos = np.mod(np.asarray(ts_ms, dtype=np.float64) / MS_PER_HOUR + _EPOCH_HOUR_OF_WEEK, 168.0)
    knot = np.floor(pos).astype(np.intp) % _HOURS_PER_WEEK
    frac = pos - np.floor(pos)
    nxt = (knot + 1) % _HOURS_PER_WEEK
    result: NDArray[np.float64] = WEEK_KNOTS[knot] * (1.0 - frac) + WEEK_KNOTS[nxt] * frac
    return result


def rate_multiplier(ts: datetime) -> float:
    """Relative event rate at `ts` (1.0 = weekly average)."""
    return float(multiplier_ms(np.array([to_ms(ts)], dtype=np.int64))[0])


def mean_multiplier(start_ms: int, end_ms: int) -> float:
    """Average multiplier over a range; exact for the piecewise-linear curve."""
    if end_ms <= start_ms:
        return float(multiplier_ms(np.array([start_ms]))[0])
    points = np.concatenate(([start_ms], _knots_between(start_ms, end_ms), [end_ms]))
    values = multiplier_ms(points.astype(np.float64))
    widths = np.diff(points).astype(np.float64)
    return float(np.sum(widths * (values[:-1] + values[1:]) / 2.0) / (end_ms - start_ms))


def _knots_between(start_ms: int, end_ms: int) -> NDArray[np.int64]:
    first = -(-start_ms // MS_PER_HOUR)
    last = (end_ms - 1) // MS_PER_HOUR
    return np.arange(first, last + 1, dtype=np.int64) * MS_PER_HOUR


def sample_times_ms(
    rng: np.random.Generator, n: int, start_ms: int, end_ms: int
) -> NDArray[np.int64]:
    """Sorted timestamps in [start, end) whose density follows the curve (thinning against
    the range's own maximum, so short live ranges accept almost every candidate)."""
    if n <= 0 or end_ms <= start_ms:
        return np.full(max(n, 0), start_ms, dtype=np.int64)
    edges = np.concatenate(([start_ms], _knots_between(start_ms, end_ms), [end_ms]))
    ceiling = float(multiplier_ms(edges.astype(np.float64)).max())
    accept_rate = max(mean_multiplier(start_ms, end_ms) / ceiling, 0.05)
    kept: list[NDArray[np.float64]] = []
    missing = n
    while missing > 0:
        size = int(missing / accept_rate * 1.1) + 16
        cand = rng.uniform(start_ms, end_ms, size)
        cand = cand[rng.random(size) * ceiling < multiplier_ms(cand)][:missing]
        kept.append(cand)
        missing -= cand.size
    times = np.floor(np.concatenate(kept)).astype(np.int64)
    times.sort()
    return times
