"""Causal anomaly scores for any numeric time series (`adnomaly detect`).

Each numeric column is judged robustly against its own past only, so a row's score never
changes when rows are appended:
- recent: the median and spread of the previous `window` values;
- seasonal, once the same time of day has been seen on at least 2 earlier days: the value
  minus the median of the same time on up to `periods` previous days, judged against the
  previous `window` such residuals (so a daily rhythm is not itself an anomaly). It is used
  when its past spread is the smaller one, i.e. when the series does follow the clock.
The spread is the larger of the MAD and the 2.5-97.5% range (a MAD is 0 for series that sit
on one value most of the time). The row's statistic is its largest |z| over the columns; the
score is s^2/(s^2+T^2) in [0, 1), 0.5 exactly at the threshold T. One set of defaults serves
every input: no per-file tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

Array = NDArray[np.float64]
_CHUNK = 50_000  # rows per sliding-window block: bounds memory at chunk x window floats


@dataclass(frozen=True)
class SeriesConfig:
    window: int = 48
    min_history: int = 12
    periods: int = 7
    period: timedelta = timedelta(days=1)
    min_periods: int = 2
    seasonal_gain: float = 0.75  # seasonal spread must be below this share of the recent one
    threshold: float = 4.5


DEFAULTS = SeriesConfig()


def _past_stats(x: Array, window: int, min_history: int) -> tuple[Array, Array]:
    """Median and robust spread of the `window` values before each row (NaN: too few)."""
    padded = np.concatenate([np.full(window, np.nan), x])
    medians, spreads = np.full(x.size, np.nan), np.full(x.size, np.nan)
    for lo in range(0, x.size, _CHUNK):
        hi = min(lo + _CHUNK, x.size)
        hist = sliding_window_view(padded[lo : hi + window - 1], window)[: hi - lo]
        enough = np.sum(~np.isnan(hist), axis=1) >= min_history
        if not enough.any():
            continue
        hist = hist[enough]
        med = np.nanmedian(hist, axis=1)
        mad = 1.4826 * np.nanmedian(np.abs(hist - med[:, None]), axis=1)
        q_lo, q_hi = np.nanquantile(hist, [0.025, 0.975], axis=1)
        tiny = 1e-9 * np.maximum(np.abs(med), 1.0)
        medians[lo:hi][enough] = med
        spreads[lo:hi][enough] = np.fmax(np.fmax(mad, (q_hi - q_lo) / 3.92), tiny)
    return medians, spreads


def _seasonal_median(ts: NDArray[np.int64], x: Array, config: SeriesConfig) -> Array:
    """Median of the values exactly k periods earlier (k = 1..periods); NaN with fewer than
    `min_periods` of them. Lookups go strictly back in time, so they stay causal."""
    step = pd.Timedelta(config.period).value
    earlier = np.full((x.size, config.periods), np.nan)
    for k in range(1, config.periods + 1):
        target = ts - k * step
        pos = np.searchsorted(ts, target, side="left")
        found = (pos < ts.size) & (ts[np.minimum(pos, ts.size - 1)] == target)
        earlier[found, k - 1] = x[pos[found]]
    enough = np.sum(~np.isnan(earlier), axis=1) >= config.min_periods
    result = np.full(x.size, np.nan)
    if enough.any():
        result[enough] = np.nanmedian(earlier[enough], axis=1)
    return result


def column_z(ts: NDArray[np.int64], x: Array, config: SeriesConfig = DEFAULTS) -> Array:
    """Per-row z of one column: seasonal where that history exists and has been the tighter
    description of the past (a daily rhythm), recent otherwise (a drifting series, whose
    yesterday says little); NaN where the row or its history is missing."""
    med, spread = _past_stats(x, config.window, config.min_history)
    z = (x - med) / spread
    residual = x - _seasonal_median(ts, x, config)
    r_med, r_spread = _past_stats(residual, config.window, config.min_history)
    seasonal = (residual - r_med) / r_spread
    # clearly tighter (not just by sampling luck, which would pick the narrower of two noisy
    # spreads and inflate z on a series without any rhythm)
    better = ~np.isnan(seasonal) & (r_spread < config.seasonal_gain * spread)
    result: Array = np.where(better, seasonal, z)
    return result


def score_series(
    timestamps: pd.DatetimeIndex, values: pd.DataFrame, config: SeriesConfig = DEFAULTS
) -> tuple[Array, NDArray[np.bool_]]:
    """(anomaly_score, is_anomaly) per row; `timestamps` must be non-decreasing."""
    ts = timestamps.as_unit("ns").asi8
    stats = np.zeros(len(values))
    for column in values.columns:
        z = np.abs(column_z(ts, values[column].to_numpy(dtype=np.float64), config))
        stats = np.fmax(stats, np.nan_to_num(z, nan=0.0, posinf=1e12))
    score = stats**2 / (stats**2 + config.threshold**2)
    return score, stats >= config.threshold
