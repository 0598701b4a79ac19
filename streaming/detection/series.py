"""Causal anomaly scores for any numeric time series (`adnomaly detect`).

Per numeric column, five views (`views.py`: level, seasonal residual, rarity, jump, shape) give raw
evidence per row; the core (`core.py`) judges each view's evidence against that view's own
running distribution (surprise, -log10 of a tail probability), so 0.99 is as rare on a flat
series as on a noisy one. The level, seasonal, rarity and jump views are alternatives (the largest
surprise counts); their evidence is averaged with the shape view's, on the core's [0, 1) scale,
because an anomaly that is both an unusual value and an unseen pattern is the surest. A row's
score is its largest over the columns, kept only at the onset of an episode (`core.novelty`),
and an alarm silences the next 24 rows (`core.refractory`). One set of defaults serves every
input (chosen on the labelled dev series, see docs/detection.md): no per-file tuning, labels
never read, and a row's score never changes when rows are appended.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from streaming.detection import core
from streaming.detection.precedent import (
    PrecedentConfig,
    days_with_precedent,
    within_recent_range,
)
from streaming.detection.views import ViewConfig, raw_views

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SeriesConfig:
    views: ViewConfig = field(default_factory=ViewConfig)
    calibration: core.Calibration = field(default_factory=core.Calibration)
    alarm_level: float = 0.37  # combined evidence that is an alarm (score 0.5): the dev optimum
    # a single extreme row counts too, at this share of its one-row surprise (the core's
    # short average would otherwise dilute an isolated spike five-fold); 0.8 once the level
    # view is gated by the recent range (dev 78.63 -> 79.77 standard, 0.7-1.0 a plateau)
    spike_weight: float = 0.8
    spike_views: tuple[str, ...] = ("level", "seasonal")
    shape_weight: float = 0.5  # weight of the shape view against the value views
    # rows after an alarm that stay silent (one shape length: the views take in a change that
    # long; dev 67.30 -> 70.38 standard, 59.94 -> 66.10 reward_low_FP)
    refractory: int = 24
    # a value seen at about this time of day on earlier days (`precedent.py`) is something the
    # series does daily: its level and rarity surprises count at this share (dev 73.81 ->
    # 74.85 standard, 67.57 -> 69.45 reward_low_FP)
    precedent: PrecedentConfig = field(default_factory=PrecedentConfig)
    precedent_gain: float = 0.5
    precedent_views: tuple[str, ...] = ("level", "rarity", "jump")
    # the level view counts at this share for a value inside the range of the last
    # `range_window` values widened by `range_margin` of it (HTM's spatial anomaly as a gate:
    # dev 77.57 -> 78.63 standard, 73.18 -> 74.08 reward_low_FP)
    range_gain: float = 0.0
    range_window: int = 2000
    range_margin: float = 0.05
    range_min_history: int = 50


DEFAULTS = SeriesConfig()
_VIEW_NAMES = ("level", "seasonal", "shape", "rarity", "jump")  # a view's code is its index
# alternatives for the value evidence: the largest surprise counts
_VALUE_VIEWS = ("level", "seasonal", "rarity", "jump")


@dataclass(frozen=True)
class SeriesScores:
    score: Array  # [0, 1), 0.5 at the alarm level
    is_anomaly: NDArray[np.bool_]
    column: list[str]  # per row: the column that drove the score ("" when score is 0)
    view: list[str]  # per row: "level", "seasonal", "shape", "rarity" or "jump"


def column_evidence(
    ts: NDArray[np.int64], x: Array, config: SeriesConfig = DEFAULTS
) -> tuple[Array, NDArray[np.intp]]:
    """(combined evidence in [0, 1) per row, the view that weighed most: 0 level, 1 seasonal,
    2 shape, 3 rarity, 4 jump)."""
    raw = raw_views(ts, x, config.views)
    cal = config.calibration
    surprises = {name: core.surprise(values, cal) for name, values in raw.items()}
    for name in ("seasonal", "rarity", "jump"):
        surprises[name][np.isnan(raw[name])] = 0.0
    if config.spike_weight:
        single = replace(cal, short=1)
        for name in config.spike_views:
            spike = config.spike_weight * core.surprise(raw[name], single)
            spike[np.isnan(raw[name])] = 0.0
            surprises[name] = np.fmax(surprises[name], spike)
    if config.precedent_gain != 1.0:
        usual = days_with_precedent(ts, x, config.precedent) >= config.precedent.min_periods
        for name in config.precedent_views:
            surprises[name] = np.where(
                usual, config.precedent_gain * surprises[name], surprises[name]
            )
    if config.range_gain != 1.0:
        inside = within_recent_range(
            x, config.range_window, config.range_margin, config.range_min_history
        )
        surprises["level"] = np.where(
            inside, config.range_gain * surprises["level"], surprises["level"]
        )
    stacked = np.stack([surprises[name] for name in _VALUE_VIEWS])
    value_sq = core.score_from_surprise(stacked.max(axis=0), cal)
    shape_sq = core.score_from_surprise(surprises["shape"], cal)
    evidence = (1 - config.shape_weight) * value_sq + config.shape_weight * shape_sq
    codes = np.array([_VIEW_NAMES.index(name) for name in _VALUE_VIEWS])
    driver = np.where(shape_sq > value_sq, _VIEW_NAMES.index("shape"), codes[stacked.argmax(0)])
    missing = np.isnan(x)
    evidence[missing] = 0.0
    return evidence, driver.astype(np.intp)


def score_detail(
    timestamps: pd.DatetimeIndex, values: pd.DataFrame, config: SeriesConfig = DEFAULTS
) -> SeriesScores:
    """Scores in row (arrival) order; timestamps need not be sorted."""
    ts = timestamps.as_unit("ns").asi8
    best = np.zeros(len(values))
    column = np.full(len(values), -1, dtype=np.intp)
    view = np.zeros(len(values), dtype=np.intp)
    for j, name in enumerate(values.columns):
        evidence, driver = column_evidence(ts, values[name].to_numpy(dtype=np.float64), config)
        better = evidence > best
        best = np.where(better, evidence, best)
        column[better], view[better] = j, driver[better]
    onset = core.novelty(best, config.calibration.quiet)
    onset = core.refractory(onset, config.alarm_level, config.refractory)
    # monotone map putting the alarm level at 0.5: evidence e -> e^a with alarm^a = 0.5
    exponent = np.log(0.5) / np.log(config.alarm_level)
    score = np.power(onset, exponent)
    names = [str(c) for c in values.columns]
    shown = onset > 0
    return SeriesScores(
        score=score,
        is_anomaly=score >= 0.5,
        column=[names[c] if s else "" for c, s in zip(column, shown, strict=True)],
        view=[_VIEW_NAMES[v] if s else "" for v, s in zip(view, shown, strict=True)],
    )


def score_series(
    timestamps: pd.DatetimeIndex, values: pd.DataFrame, config: SeriesConfig = DEFAULTS
) -> tuple[Array, NDArray[np.bool_]]:
    """(anomaly_score, is_anomaly) per row."""
    result = score_detail(timestamps, values, config)
    return result.score, result.is_anomaly
