"""Robust statistics on numpy arrays: group medians/quantiles, median polish, a minimum
covariance determinant style covariance, and a chi-square to normal-scale conversion.

Robust estimators because training data is the offline feature history, which contains the
very fraud we want to flag: a median, a MAD or a covariance fitted on the central 75% of the
points moves little when a few percent of windows are fraudulent, while a mean would follow it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
Codes = NDArray[np.intp]
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def group_quantiles(codes: Codes, values: Array, qs: list[float], n_groups: int) -> Array:
    """Quantiles [n_groups, len(qs)] of `values` per group code 0..n_groups-1 (NaN for empty
    groups; NaN values are ignored); one grouping pass for all of `qs`."""
    result = pd.Series(values).groupby(codes).quantile(np.asarray(qs)).unstack()
    out = np.full((n_groups, len(qs)), np.nan)
    out[result.index.to_numpy(dtype=np.intp)] = result.to_numpy(dtype=np.float64)
    return out


def group_median(codes: Codes, values: Array, n_groups: int) -> Array:
    result = pd.Series(values).groupby(codes).median()
    out = np.full(n_groups, np.nan)
    out[result.index.to_numpy(dtype=np.intp)] = result.to_numpy(dtype=np.float64)
    return out


def median_polish(
    values: Array, rows: Codes, n_rows: int, cols: Codes, n_cols: int, iterations: int = 2
) -> tuple[Array, Array]:
    """Additive fit values ~ row effect + column effect by alternating medians (Tukey).

    Here rows are segments and columns are time-of-week slots: the slot effect is shared by
    every segment, so each of the week's slots is estimated from all segments together and a
    week of history is enough. Returns (row effects, column effects), the column effects
    centred on 0 and 0 where a column had no data.
    """
    row = np.nan_to_num(group_median(rows, values, n_rows))
    col = np.zeros(n_cols)
    seen = np.bincount(cols, minlength=n_cols) > 0
    for _ in range(iterations):
        col += np.nan_to_num(group_median(cols, values - row[rows] - col[cols], n_cols))
        shift = float(np.median(col[seen])) if seen.any() else 0.0
        col[seen] -= shift
        row += shift
        row += np.nan_to_num(group_median(rows, values - row[rows] - col[cols], n_rows))
    return row, col


def robust_spread(codes: Codes, residuals: Array, n_groups: int) -> Array:
    """Per-group scale on the normal sigma scale: the larger of the MAD and the 2.5-97.5%
    range, because a MAD is 0 for discrete features that are mostly one value (e.g. zero
    conversions) although they do vary."""
    center = group_median(codes, residuals, n_groups)
    mad = MAD_TO_SIGMA * group_median(codes, np.abs(residuals - center[codes]), n_groups)
    low, high = group_quantiles(codes, residuals, [0.025, 0.975], n_groups).T
    wide = (high - low) / 3.92
    return np.fmax(mad, wide)


def mahalanobis_sq(x: Array, mean: Array, precision: Array) -> Array:
    centred = x - mean
    result: Array = np.einsum("ij,jk,ik->i", centred, precision, centred)
    return result


def robust_covariance(x: Array, support: float = 0.75, steps: int = 4) -> tuple[Array, Array]:
    """Mean and covariance of the `support` share of points closest to the centre, found by
    concentration steps (the C-step of FAST-MCD) from the coordinate-wise median, then scaled
    so the median squared distance matches a chi-square's (consistency under normality)."""
    dims = x.shape[1]
    mean = np.median(x, axis=0)
    cov = np.cov(x.T) + 1e-9 * np.eye(dims)
    for _ in range(steps):
        dist = mahalanobis_sq(x, mean, np.linalg.pinv(cov))
        core = x[dist <= np.quantile(dist, support)]
        mean, cov = core.mean(axis=0), np.cov(core.T) + 1e-9 * np.eye(dims)
    dist = mahalanobis_sq(x, mean, np.linalg.pinv(cov))
    cov *= float(np.median(dist)) / chi2_median(dims)
    return mean, cov


def chi2_median(dims: int) -> float:
    return float(dims * (1 - 2 / (9 * dims)) ** 3)


def chi2_to_z(dist_sq: Array, dims: int) -> Array:
    """Wilson-Hilferty: a chi-square(dims) value as the equivalent standard normal deviate,
    so a multivariate distance sits on the same scale as the per-feature z-scores."""
    v = 2 / (9 * dims)
    result: Array = (np.cbrt(np.maximum(dist_sq, 0) / dims) - (1 - v)) / np.sqrt(v)
    return result
