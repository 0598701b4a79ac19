"""Precedent: has a value like this been seen before, at about this time of day or at all?

Range precedent (`within_recent_range`): the spatial-anomaly rule of Numenta's HTM detector
(a value outside the range seen so far, by a margin of that range, is an anomaly outright),
used here as a gate on the level view. Its distance from the median is news only for a value
that leaves the range of the recent past; inside that range the rarity, jump and shape views
judge it (a value inside the range can still be rare: `rarity.py`). Without the gate, every
burst of a bursty series (disk writes that jump from 0 to 4e8 a few times a day) is dozens of
spreads from the median and an alarm.

Seasonal precedent (`days_with_precedent`):

Why: many real series repeat something unusual-looking every day at roughly the same time (a
nightly batch job's CPU spike, the evening rush hour's occupancy), but not at exactly the same
timestamp, so the seasonal view (the median of the same timestamp on earlier days) misses it
and the level and rarity views call every repetition an anomaly. A value with precedent, one
within +-`bandwidth` x (range of the last `window` values) of a value seen within
+-`tolerance` of the same time on at least `min_periods` of the `periods` earlier days, is
something the series does daily: `series.py` discounts its level and rarity evidence. A spike
larger than the daily ones, or one at another time of day, has no precedent and keeps its
full evidence.

Causal: only rows that arrived earlier count (a file whose clock jumps back is still causal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PrecedentConfig:
    period: timedelta = timedelta(days=1)
    periods: int = 7  # earlier days looked at
    tolerance: timedelta = timedelta(hours=1)  # how far from the same time a match may be
    # rows compared per earlier day at most (the nearest to the same time): bounds the cost on
    # high-frequency data, where +-1 hour would be thousands of rows
    max_rows: int = 49
    bandwidth: float = 0.05  # share of the recent range a value must come within
    window: int = 2000  # rows the range is taken over
    min_periods: int = 2  # days with a match for the value to have precedent


def days_with_precedent(
    ts: NDArray[np.int64], x: Array, config: PrecedentConfig = PrecedentConfig()
) -> NDArray[np.int64]:
    """Per row, on how many of the `periods` earlier days a value within the band was seen
    within `tolerance` of the same time (0 for a missing value)."""
    n = x.size
    hits = np.zeros(n, dtype=np.int64)
    if n == 0:
        return hits
    past = pd.Series(x).shift(1).rolling(config.window, min_periods=1)
    with np.errstate(invalid="ignore", over="ignore"):
        band = config.bandwidth * (past.max() - past.min()).to_numpy()
    order = np.argsort(ts, kind="stable")
    sorted_ts = ts[order]
    rows = np.arange(n)
    step = pd.Timedelta(config.period).value
    tol = pd.Timedelta(config.tolerance).value
    half = config.max_rows // 2
    for k in range(1, config.periods + 1):
        target = ts - k * step
        centre = np.searchsorted(sorted_ts, target)
        lo = np.maximum(np.searchsorted(sorted_ts, target - tol, "left"), centre - half)
        hi = np.minimum(np.searchsorted(sorted_ts, target + tol, "right"), centre + half + 1)
        found = np.zeros(n, dtype=bool)
        for offset in range(int((hi - lo).max(initial=0))):
            pos = lo + offset
            inside = pos < hi
            earlier = order[np.minimum(pos, n - 1)]
            with np.errstate(invalid="ignore"):
                close = np.abs(x[earlier] - x) <= band
            found |= inside & (earlier < rows) & close
        hits += found
    return hits


def within_recent_range(
    x: Array, window: int, margin: float, min_history: int
) -> NDArray[np.bool_]:
    """Per row: is the value inside [min - margin x range, max + margin x range] of the
    `window` values before it? False for a missing value or with fewer than `min_history`
    earlier values (no range to speak of yet)."""
    past = pd.Series(x).shift(1).rolling(window, min_periods=min_history)
    high, low = past.max().to_numpy(), past.min().to_numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        width = margin * (high - low)
        inside: NDArray[np.bool_] = (x <= high + width) & (x >= low - width)
    return inside
