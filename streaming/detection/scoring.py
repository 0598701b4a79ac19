"""Score feature windows against a model: z-scores per channel, the multivariate distance, a
score in [0, 1], and for elevated windows the features that drove it in words.

The statistic is the strongest evidence in sigma: the largest one-sided channel z or the
multivariate z, each already calibrated on the training history's tail (train.py).
`core.score_from_sigma` (the scoring core `adnomaly detect` shares) maps it to [0, 1)
monotonically with 0.5 exactly at the threshold T, so `is_anomaly == (score >= 0.5)`. Each
driver names its feature and its view (seasonal residual, or the joint view of all features).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from streaming.detection import channels as ch
from streaming.detection import core, robust
from streaming.detection.model import DetectorModel
from streaming.detection.train import segment_codes

EXPLAIN_FROM: Final = 0.5  # explain windows whose statistic reaches half the threshold
DRIVER_MIN_Z: Final = 2.0
MAX_DRIVERS: Final = 3
# The views of a feature window, named as `adnomaly detect` names its views: a channel's z is
# its seasonal residual (against the segment's level and the shared time-of-week shape); the
# multivariate distance is the joint view of all channels.
SEASONAL_VIEW: Final = "seasonal"
JOINT_VIEW: Final = "joint"
OUTPUT_COLUMNS: Final = (
    "geo",
    "platform",
    "window_start",
    "window_end",
    "score",
    "is_anomaly",
    "statistic",
    "drivers",
    "reason",
    "model_version",
)


def channel_z(model: DetectorModel, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated z [rows, channels], expected values in feature units). A segment the model
    has not seen is compared with the median segment rather than refused."""
    codes, names = segment_codes(features)
    idx = np.array([model.index.get(name, -1) for name in names], dtype=np.intp)[codes]
    known = (idx >= 0)[:, None]
    pick = np.maximum(idx, 0)

    def per_segment(table: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.where(known, table[pick], np.median(table, axis=0))
        return result

    slot = ch.week_slot(features, model.config.slot)
    values, n = ch.transformed(features)
    expected = per_segment(model.level) + model.shape[slot]
    resid = ch.residuals(values, expected, n) - per_segment(model.center)
    z = resid / per_segment(model.scale) / model.calibration[:-1]
    return z, ch.in_feature_units(expected)


def score(model: DetectorModel, features: pd.DataFrame, *, explain: bool = True) -> pd.DataFrame:
    """One output row per input row (same order): OUTPUT_COLUMNS."""
    out = features[["geo", "platform", "window_start", "window_end"]].reset_index(drop=True)
    if features.empty:
        return out.assign(**{c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS[4:]})
    z, expected = channel_z(model, features)
    dims = len(ch.CHANNELS)
    dist = robust.mahalanobis_sq(ch.fraud_side(z, model.mv_mean), model.mv_mean, model.mv_precision)
    mv = robust.chi2_to_z(dist, dims) / model.calibration[-1]
    sided = z * ch.DIRECTIONS
    stat = np.maximum(sided.max(axis=1), mv)
    threshold = model.config.threshold
    out["score"] = core.score_from_sigma(stat, threshold)
    out["is_anomaly"] = stat >= threshold
    out["statistic"] = stat
    drivers: list[dict[str, Any]] = [{} for _ in range(len(out))]
    reasons = [""] * len(out)
    if explain:
        observed = ch.observed(features)
        for i in np.flatnonzero(stat >= EXPLAIN_FROM * threshold):
            drivers[i], reasons[i] = _explain(sided[i], mv[i], observed[i], expected[i])
    out["drivers"] = pd.Series(drivers, index=out.index, dtype=object)
    out["reason"] = reasons
    out["model_version"] = model.version
    return out


def _explain(
    sided: np.ndarray, mv: float, observed: np.ndarray, expected: np.ndarray
) -> tuple[dict[str, Any], str]:
    order = [j for j in np.argsort(-sided) if sided[j] >= DRIVER_MIN_Z][:MAX_DRIVERS]
    drivers: dict[str, Any] = {}
    words = []
    for j in order:
        feature = ch.CHANNELS[j].name
        drivers[feature] = {
            "value": round(float(observed[j]), 6),
            "expected": round(float(expected[j]), 6),
            "z": round(float(sided[j]), 2),
            "view": SEASONAL_VIEW,
        }
        side = "above" if ch.CHANNELS[j].direction > 0 else "below"
        words.append(
            f"{feature} {observed[j]:.4g} vs {expected[j]:.4g} expected "
            f"({sided[j]:.1f} sigma {side}, {SEASONAL_VIEW} view)"
        )
    if mv >= (sided.max() if sided.size else 0.0):
        drivers["multivariate"] = {"z": round(float(mv), 2), "view": JOINT_VIEW}
        words.insert(0, f"unusual combination of features ({mv:.1f} sigma, {JOINT_VIEW} view)")
    return drivers, "; ".join(words)
