"""The rarity view: how seldom the recent past took a value this close to the current one.

Why: the level view measures distance from the median, so on a series with recurring spikes
(a nightly job at 1.5 on a 0.1 baseline) every spike is far, and a value never taken before
halfway between (0.6) is nearer than the spikes and looks less unusual. What the spikes have
and the 0.6 has not is precedent: many earlier values within a small band around them. As
the value encoder of Numenta's HTM detector does (values in buckets of a share of the range,
an anomaly is an input never seen), the raw evidence is the surprisal of the value's
neighbourhood, log((n + 1) / (count + 1)), where count is the number of the previous `window`
values within +-`bandwidth` x (their max - min) of it. A value in a busy neighbourhood scores
about 0 however far from the median it is; one in a neighbourhood never visited scores
log(n + 1). The core (`core.surprise`) then judges that evidence against its own running
distribution like any other view's.

Causal: a row's evidence uses the `window` finite values before it only.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def value_rarity(x: Array, window: int, bandwidth: float, min_history: int) -> Array:
    """log((n + 1) / (count + 1)) per row (NaN for a missing or non-finite value, or fewer than
    `min_history` earlier finite values). A sorted list of the last `window` finite values is
    kept (bisect: O(log n) lookups, one O(window) memmove per row), which scores 100,000 rows
    in about 0.3 s."""
    out = np.full(x.size, np.nan)
    ordered: list[float] = []
    arrival: deque[float] = deque()
    for i, value in enumerate(x.tolist()):
        if not math.isfinite(value):
            continue
        n = len(ordered)
        if n >= min_history:
            h = bandwidth * (ordered[-1] - ordered[0])
            count = bisect.bisect_right(ordered, value + h) - bisect.bisect_left(ordered, value - h)
            out[i] = math.log((n + 1) / (count + 1))
        bisect.insort(ordered, value)
        arrival.append(value)
        if len(arrival) > window:
            del ordered[bisect.bisect_left(ordered, arrival.popleft())]
    return out
