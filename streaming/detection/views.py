"""Views of one numeric series: each turns the values into raw evidence per row, using only
that row and earlier ones (a row's evidence never changes when rows are appended).

- level: distance from the median of the last `window` values, in robust spreads.
- seasonal: the value minus the median of the same time on up to `periods` earlier days,
  judged against the last `window` such residuals; kept only where it describes the past
  clearly better than the level does (the series follows the clock).
- rarity: how few of the last `rarity_window` values lie within a small band around the
  value (`rarity.py`): a value never taken before is news even when it is nearer the median
  than the usual spikes.
- jump: the same rarity for the change from the previous row: a jump of a size never seen
  (a drop to a level the series also visits slowly, a step) is news too.
- shape: RMS distance from the last `m` values to the most similar earlier stretch of `m`
  values within `history` rows (a left matrix profile without z-normalisation, like stumpy's
  `aamp`, computed here with numpy because numba's compile time alone would exceed the time
  budget of a run). A pattern seen before is not news, however large; a new one is.

Raw evidence is log1p(|z|) for level and seasonal, log((n + 1) / (count + 1)) for rarity and jump,
log1p(distance) ** 0.7 for shape (nearly scale-free for distances well above 1, and a tighter
tail; the core's running z is scale-free anyway): heavy tails are compressed before the running
distribution of the core (`core.surprise`) judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from streaming.detection.rarity import value_rarity

Array = NDArray[np.float64]
_LAG_BLOCK = 64  # lags per vectorised block of the shape view
_ROW_CHUNK = 20_000  # rows per block of the shape view: memory ~ _LAG_BLOCK x this x 8 bytes


@dataclass(frozen=True)
class ViewConfig:
    window: int = 600
    min_history: int = 12
    periods: int = 7
    period: timedelta = timedelta(days=1)
    min_periods: int = 2
    seasonal_gain: float = 0.75  # seasonal spread must be below this share of the level one
    shape_length: int = 24
    shape_history: int = 2000
    clip_spreads: float = 50.0  # the shape view sees values clipped this far from the median
    # log1p(distance) ** shape_power: distances are heavy-tailed even after the log, and one
    # huge distance in the history widened the core's running sd enough to hide later ones
    shape_power: float = 0.7
    rarity_window: int = 2000  # earlier values a value's neighbourhood is counted among
    # the neighbourhood: +- this share of their range (dev: 0.05-0.12 alike, 0.02-0.03 worse)
    rarity_bandwidth: float = 0.05
    rarity_min_history: int = 50


def past_stats(x: Array, window: int, min_history: int) -> tuple[Array, Array]:
    """Median and robust spread of the `window` values before each row (NaN: too few). The
    spread is the larger of the IQR and the 2.5-97.5% range on the normal scale (an IQR is 0
    for series that sit on one value most of the time)."""
    rolling = pd.Series(x).shift(1).rolling(window, min_periods=min_history)
    median = rolling.median().to_numpy()
    q25, q75 = rolling.quantile(0.25).to_numpy(), rolling.quantile(0.75).to_numpy()
    q02, q97 = rolling.quantile(0.025).to_numpy(), rolling.quantile(0.975).to_numpy()
    spread = np.fmax((q75 - q25) / 1.349, (q97 - q02) / 3.92)
    tiny = 1e-9 * np.maximum(np.abs(median), 1.0)
    return median, np.fmax(spread, tiny)


def _earlier_rows(ts: NDArray[np.int64], targets: NDArray[np.int64]) -> NDArray[np.intp]:
    """Index of an earlier row (in arrival order) whose timestamp equals each target, -1 if
    none. Works on unsorted timestamps, so a file whose clock jumps back is still causal."""
    order = np.argsort(ts, kind="stable")
    sorted_ts = ts[order]
    pos = np.clip(np.searchsorted(sorted_ts, targets), 0, max(ts.size - 1, 0))
    found = ts.size > 0
    hit = (sorted_ts[pos] == targets) if found else np.zeros(0, dtype=bool)
    rows = np.where(hit, order[pos], -1)
    rows[rows >= np.arange(ts.size)] = -1
    result: NDArray[np.intp] = rows.astype(np.intp)
    return result


def seasonal_median(ts: NDArray[np.int64], x: Array, config: ViewConfig) -> Array:
    step = pd.Timedelta(config.period).value
    earlier = np.full((x.size, config.periods), np.nan)
    for k in range(1, config.periods + 1):
        rows = _earlier_rows(ts, ts - k * step)
        earlier[rows >= 0, k - 1] = x[rows[rows >= 0]]
    enough = np.sum(~np.isnan(earlier), axis=1) >= config.min_periods
    result = np.full(x.size, np.nan)
    if enough.any():
        result[enough] = np.nanmedian(earlier[enough], axis=1)
    return result


def left_neighbour_distance(x: Array, m: int, history: int, chunk: int = _ROW_CHUNK) -> Array:
    """RMS distance from the stretch of `m` values ending at each row to the closest earlier
    stretch ending at least m/4 rows before it and at most `history` rows before it; NaN
    until one exists. One cumulative sum per lag: O(rows x history), no m factor; rows are
    done `chunk` at a time (with the history they need), which bounds memory on long files
    and gives the same result."""
    result = np.full(x.size, np.nan)
    for start in range(0, x.size, chunk):
        stop = min(start + chunk, x.size)
        lo = max(0, start - history - m + 1)
        result[start:stop] = _left_distance(x[lo:stop], m, history)[start - lo :]
    return result


def _left_distance(x: Array, m: int, history: int) -> Array:
    n = x.size
    best = np.full(n, np.inf)
    excl = max(m // 4, 1)
    last = min(history, n - m)
    if last < excl:
        return np.full(n, np.nan)
    pad = last + 1
    # shifted[s] is x delayed by pad - s rows (zeros before the start): a strided view, so a
    # block of lags costs no copy; the zeros only reach windows masked out below
    padded = np.concatenate([np.zeros(pad), x])
    shifted = sliding_window_view(padded, n)
    for first in range(excl, last + 1, _LAG_BLOCK):
        stop = min(first + _LAG_BLOCK, last + 1)
        delayed = shifted[pad - stop + 1 : pad - first + 1][::-1]  # row k: lag first + k
        sums = np.cumsum((x[None, :] - delayed) ** 2, axis=1)
        window = sums[:, m - 1 :].copy()  # window[k, j]: rows j..j+m-1, ending at j+m-1
        window[:, 1:] -= sums[:, : n - m]
        for k in range(stop - first):
            window[k, : first + k] = np.inf  # the earlier stretch would start before row 0
        best[m - 1 :] = np.minimum(best[m - 1 :], window.min(axis=0))
    result: Array = np.where(np.isfinite(best), np.sqrt(np.maximum(best, 0.0) / m), np.nan)
    return result


def raw_views(ts: NDArray[np.int64], x: Array, config: ViewConfig) -> dict[str, Array]:
    """{"level"|"seasonal"|"shape"|"rarity"|"jump": raw evidence per row}; NaN where a view
    has nothing to say (missing value, too little history, seasonal not the better
    description)."""
    with np.errstate(over="ignore", invalid="ignore"):
        median, spread = past_stats(x, config.window, config.min_history)
        level = np.abs(x - median) / spread
        residual = x - seasonal_median(ts, x, config)
        r_median, r_spread = past_stats(residual, config.window, config.min_history)
        seasonal = np.abs(residual - r_median) / r_spread
        seasonal[~(r_spread < config.seasonal_gain * spread)] = np.nan
        filled = pd.Series(x).ffill().fillna(0.0).to_numpy()
        low = np.nan_to_num(median - config.clip_spreads * spread, nan=-np.inf)
        high = np.nan_to_num(median + config.clip_spreads * spread, nan=np.inf)
        clipped = np.clip(filled, np.fmax(low, -1e150), np.fmin(high, 1e150))
        distance = left_neighbour_distance(clipped, config.shape_length, config.shape_history)
    return {
        "level": np.log1p(np.minimum(level, 1e12)),
        "seasonal": np.log1p(np.minimum(seasonal, 1e12)),
        "shape": np.log1p(distance) ** config.shape_power,
        "rarity": value_rarity(
            x, config.rarity_window, config.rarity_bandwidth, config.rarity_min_history
        ),
        "jump": value_rarity(
            np.r_[np.nan, np.diff(x)],
            config.rarity_window,
            config.rarity_bandwidth,
            config.rarity_min_history,
        ),
    }
