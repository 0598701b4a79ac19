"""Fit the model of normal traffic from a history of feature rows.

Per channel: a median polish gives each segment its level and every segment a shared weekly
shape (so a quiet 4 a.m. is not an anomaly); residuals get a per-segment centre and robust
scale; then each channel is calibrated so that its historical tail at `calibration_quantile`
maps to a normal's (small-count windows have heavier tails than a Gaussian, and one threshold
should mean the same false-alarm rate on every channel). The multivariate part is a robust
covariance of the calibrated z-scores, so combinations that are individually mild but jointly
rare (e.g. bounce up while conversions vanish) also stand out; it is calibrated like a channel.
The sustained view (two disjoint windows pooled, sustained.py) is calibrated the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

from streaming.detection import channels as ch
from streaming.detection import robust, sustained
from streaming.detection.model import DetectorConfig, DetectorModel, new_version
from streaming.feature_contract import FEATURE_NAMES

REQUIRED = ("geo", "platform", "window_start", "window_end", *FEATURE_NAMES)
MV_SAMPLE = 200_000  # rows for the covariance fit: plenty for 7 dimensions, bounded time


def segment_codes(features: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(code per row, "geo|platform" per code): factorizing the two short columns and naming
    only the distinct pairs is much cheaper than building a string per row."""
    geo, geos = pd.factorize(features["geo"])
    platform, platforms = pd.factorize(features["platform"])
    pair, pairs = pd.factorize(geo.astype(np.int64) * max(len(platforms), 1) + platform)
    names = [f"{geos[p // len(platforms)]}|{platforms[p % len(platforms)]}" for p in pairs]
    return pair, names


def _fill_unseen(shape: np.ndarray, seen: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """Slots of the week absent from a short history take the mean shape of the same time of
    day on the days that were seen: a detector trained on two days still knows the evening
    peak on the third."""
    per_day = timedelta(days=1) // config.slot
    time_of_day = np.arange(len(shape)) % per_day
    filled = shape.copy()
    for tod in np.unique(time_of_day[~seen]):
        same = (time_of_day == tod) & seen
        filled[(time_of_day == tod) & ~seen] = shape[same].mean(axis=0) if same.any() else 0.0
    return filled


def train(
    features: pd.DataFrame,
    config: DetectorConfig | None = None,
    *,
    trained_at: datetime | None = None,
) -> DetectorModel:
    """`features` has FeatureRow's columns (offline features, fraud and all); rows with a
    missing value (nullable columns of feature_aggregates) are left out."""
    config = config or DetectorConfig()
    missing = [c for c in REQUIRED if c not in features]
    if missing:
        raise ValueError(f"features lack column(s): {', '.join(missing)}")
    features = features.dropna(subset=list(REQUIRED))
    if features.empty:
        raise ValueError("no feature rows to train on")
    all_codes, _ = segment_codes(features)
    kept = features[np.bincount(all_codes)[all_codes] >= config.min_segment_rows]
    if kept.empty:
        raise ValueError(f"no segment has {config.min_segment_rows} windows of history")
    codes, segments = segment_codes(kept)
    n_seg, n_slots = len(segments), ch.slots_per_week(config.slot)
    slot = ch.week_slot(kept, config.slot)
    values, n = ch.transformed(kept)

    level = np.zeros((n_seg, len(ch.CHANNELS)))
    shape = np.zeros((n_slots, len(ch.CHANNELS)))
    for j in range(len(ch.CHANNELS)):
        level[:, j], shape[:, j] = robust.median_polish(values[:, j], codes, n_seg, slot, n_slots)
    shape = _fill_unseen(shape, np.bincount(slot, minlength=n_slots) > 0, config)
    resid = ch.residuals(values, level[codes] + shape[slot], n)
    center = np.column_stack(
        [robust.group_median(codes, resid[:, j], n_seg) for j in range(len(ch.CHANNELS))]
    )
    resid -= center[codes]
    spread = np.column_stack(
        [robust.robust_spread(codes, resid[:, j], n_seg) for j in range(len(ch.CHANNELS))]
    )
    scale = np.fmax(np.nan_to_num(spread), ch.FLOORS)
    z = resid / scale[codes]

    normal_q = NormalDist().inv_cdf(config.calibration_quantile)
    tails = np.quantile(z * ch.DIRECTIONS, config.calibration_quantile, axis=0)
    channel_cal = np.maximum(tails / normal_q, 1.0)
    z /= channel_cal
    sided = z * ch.DIRECTIONS
    pooled = sustained.pooled(np.asarray(segments, dtype=object)[codes], kept, sided)
    tails = np.quantile(pooled, config.calibration_quantile, axis=0)
    sustained_cal = np.maximum(tails / normal_q, 1.0)
    sample = z
    if len(z) > MV_SAMPLE:
        sample = z[np.random.default_rng(0).choice(len(z), MV_SAMPLE, replace=False)]
    mv_mean, cov = robust.robust_covariance(sample)
    precision = np.linalg.pinv(cov)
    joint = robust.mahalanobis_sq(ch.fraud_side(z, mv_mean), mv_mean, precision)
    mv_z = robust.chi2_to_z(joint, len(ch.CHANNELS))
    mv_cal = max(float(np.quantile(mv_z, config.calibration_quantile)) / normal_q, 1.0)

    arrays = [level, shape, center, scale, channel_cal, mv_mean, precision, sustained_cal]
    window_end = pd.to_datetime(kept["window_end"], utc=True)
    return DetectorModel(
        version=new_version([a.tobytes() for a in arrays], trained_at),
        config=config,
        segments=tuple(str(s) for s in segments),
        level=level,
        shape=shape,
        center=center,
        scale=scale,
        calibration=np.append(channel_cal, mv_cal),
        mv_mean=mv_mean,
        mv_precision=precision,
        trained_rows=len(kept),
        trained_from=window_end.min().isoformat(),
        trained_to=window_end.max().isoformat(),
        sustained_calibration=sustained_cal,
    )
