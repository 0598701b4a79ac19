"""The calibrated scoring core: turns any raw evidence (a z-score, a distance) into a score
that means the same on every kind of series.

Why: a raw |z| of 6 is a once-a-year event on a smooth series and an hourly one on a spiky
series, so no single threshold fits both. As the anomaly likelihood of Numenta's HTM detector
does, each view's raw evidence is judged against its own running distribution: the mean of
the last `short` raw values is compared with the mean and standard deviation of the `long`
raw values before them, and the evidence is the tail probability of that comparison as
-log10(p) ("surprise", 2.0 = a 1-in-100 event for this series and this view). Everything is
causal: a row's surprise uses that row and earlier ones only.

`score_from_surprise` maps surprise to [0, 1) monotonically (0.5 at `half`), and `novelty`
keeps a score only where it exceeds every score in the `quiet` rows before it, so a lasting
anomaly is one alarm at its onset rather than a flood of repeated ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
LOG10: Final = math.log(10.0)
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_ASYMPTOTIC_FROM = 25.0  # sigma: beyond it erfc would underflow towards 0


def upper_tail_log10(z: Array) -> Array:
    """-log10 P(N(0,1) > z), exact (erfc) up to 25 sigma, asymptotic beyond (relative error
    in the probability below 0.2% there); NaN stays NaN."""
    z = np.asarray(z, dtype=np.float64)
    result = np.full(z.shape, np.nan)
    small = z < _ASYMPTOTIC_FROM
    tail = 0.5 * _ERFC(z[small] / math.sqrt(2.0)).astype(np.float64)
    result[small] = -np.log10(tail)
    big = z[z >= _ASYMPTOTIC_FROM]
    result[z >= _ASYMPTOTIC_FROM] = (big**2 / 2 + np.log(big * math.sqrt(2 * math.pi))) / LOG10
    return result


@dataclass(frozen=True)
class Calibration:
    short: int = 5  # raw values averaged: one noisy row is not an event
    long: int = 4000  # raw values the running distribution is estimated from
    min_history: int = 200  # fewer: no evidence yet (surprise 0)
    # in raw units (log1p of sigma): a flat history is not infinitely sure; 0.05 hid subtle
    # changes in calm stretches of noisy series (dev: 0.02 scores +3.6 standard)
    sd_floor: float = 0.02
    half: float = 3.0  # surprise that `score_from_surprise` maps to 0.5 (1 in 1,000)
    quiet: int = 150  # rows a new alarm must beat the previous ones over


DEFAULT_CALIBRATION: Final = Calibration()


def surprise(raw: Array, cal: Calibration = DEFAULT_CALIBRATION) -> Array:
    """-log10 of the upper tail probability of the recent raw evidence under its own running
    distribution; 0 where there is not enough history. NaN raw values (the view had nothing
    to say) are left out of the distribution."""
    values = pd.Series(np.minimum(raw, 1e6))
    recent = values.rolling(cal.short, min_periods=1).mean().to_numpy()
    past = values.shift(cal.short).rolling(cal.long, min_periods=cal.min_history)
    mean, sd = past.mean().to_numpy(), past.std().to_numpy()
    z = (recent - mean) / np.fmax(np.nan_to_num(sd, nan=cal.sd_floor), cal.sd_floor)
    result: Array = np.nan_to_num(upper_tail_log10(z), nan=0.0)
    return result


def score_from_surprise(evidence: Array, cal: Calibration = DEFAULT_CALIBRATION) -> Array:
    """[0, 1), monotone, 0.5 at `cal.half`: surprises of several views can be averaged on
    this scale without one unbounded view drowning the others."""
    s = np.maximum(np.nan_to_num(evidence, nan=0.0), 0.0)
    result: Array = s / (s + cal.half)
    return result


def score_from_sigma(stat: Array, threshold: float) -> Array:
    """The same mapping for a statistic already on a calibrated sigma scale (the streaming
    model's): [0, 1), 0.5 exactly at `threshold`."""
    positive = np.maximum(stat, 0.0)
    result: Array = positive**2 / (positive**2 + threshold**2)
    return result


def novelty(score: Array, quiet: int) -> Array:
    """`score` where it beats every score of the previous `quiet` rows, 0 elsewhere."""
    if quiet <= 0 or not score.size:
        return score
    before = pd.Series(score).shift(1).rolling(quiet, min_periods=1).max().to_numpy()
    result: Array = np.where(score > np.nan_to_num(before, nan=-np.inf), score, 0.0)
    return result


def refractory(score: Array, level: float, rows: int) -> Array:
    """`score` with every row in the `rows` after an alarm (a score >= `level` that was itself
    kept) set to 0: as HTM's detectors do not re-fire within a window, one change is one alarm,
    not a burst of them while the views take in the new stretch. Causal: only earlier rows
    decide whether a row is silenced."""
    out = score.copy()
    until = -1
    for i in np.flatnonzero(score > 0):
        if i <= until:
            out[i] = 0.0
        elif score[i] >= level:
            until = int(i) + rows
    return out
