"""Score feature windows against a model: z-scores per channel, the multivariate distance, a
score in [0, 1], and for elevated windows the features that drove it in words.

The statistic is the strongest evidence in sigma over three views, each calibrated on the
training history's tail (train.py): a channel's one-sided z of this window (seasonal view),
the same pooled with the segment's previous disjoint window (sustained view, sustained.py:
the core's "judge the recent raw values, not one row"), and the multivariate z of all
channels (joint view). `core.score_from_sigma` (the scoring core `adnomaly detect` shares)
maps it to [0, 1) monotonically with 0.5 exactly at the threshold T, so
`is_anomaly == (score >= 0.5)`; `core.upper_tail_log10` gives each driver's surprise
(-log10 of its tail probability, the core's scale). Every row names the feature and view of
its strongest evidence (`driver_feature`, `driver_view`), and each driver its own view.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from streaming.detection import channels as ch
from streaming.detection import core, robust, sustained
from streaming.detection.model import DetectorModel
from streaming.detection.train import segment_codes

EXPLAIN_FROM: Final = 0.5  # explain windows whose statistic reaches half the threshold
DRIVER_MIN_Z: Final = 2.0
MAX_DRIVERS: Final = 3
# The views of a feature window, named as `adnomaly detect` names its views: a channel's z is
# its seasonal residual (against the segment's level and the shared time-of-week shape); the
# multivariate distance is the joint view of all channels.
SEASONAL_VIEW: Final = "seasonal"
SUSTAINED_VIEW: Final = sustained.VIEW
JOINT_VIEW: Final = "joint"
JOINT_FEATURE: Final = "multivariate"  # the joint view's driver: all features together
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
    "driver_feature",
    "driver_view",
    "model_version",
)


def channel_z(model: DetectorModel, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated z [rows, channels], expected values in feature units). A segment the model
    has not seen is compared with the median segment rather than refused."""
    z, expected, _ = _channel_z(model, features)
    return z, expected


def _channel_z(
    model: DetectorModel, features: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return z, ch.in_feature_units(expected), np.asarray(names, dtype=object)[codes]


def score(
    model: DetectorModel,
    features: pd.DataFrame,
    *,
    explain: bool = True,
    memory: sustained.WindowMemory | None = None,
) -> pd.DataFrame:
    """One output row per input row (same order): OUTPUT_COLUMNS. `memory` carries the
    windows of earlier calls (the stream's earlier batches) to the sustained view, and
    learns this call's windows."""
    out = features[["geo", "platform", "window_start", "window_end"]].reset_index(drop=True)
    if features.empty:
        return out.assign(**{c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS[4:]})
    z, expected, segments = _channel_z(model, features)
    dims = len(ch.CHANNELS)
    dist = robust.mahalanobis_sq(ch.fraud_side(z, model.mv_mean), model.mv_mean, model.mv_precision)
    mv = robust.chi2_to_z(dist, dims) / model.calibration[-1]
    sided = z * ch.DIRECTIONS
    views = {SEASONAL_VIEW: sided}
    if model.sustained_calibration is not None:
        memory = memory.for_version(model.version) if memory is not None else None
        pooled = sustained.pooled(segments, features, sided, memory)
        views[SUSTAINED_VIEW] = pooled / model.sustained_calibration
        if memory is not None:
            memory.remember(list(segments), sustained.window_ends_ns(features)[0], sided)
    # per channel, its strongest view
    stacked = np.stack(list(views.values()))
    best_view = stacked.argmax(axis=0)
    strongest = stacked.max(axis=0)
    channel = strongest.argmax(axis=1)
    rows = np.arange(len(out))
    stat = np.maximum(strongest[rows, channel], mv)
    joint = mv >= strongest[rows, channel]
    names = np.array([*ch.NAMES, JOINT_FEATURE], dtype=object)
    view_names = np.array([*views, JOINT_VIEW], dtype=object)
    threshold = model.config.threshold
    out["score"] = core.score_from_sigma(stat, threshold)
    out["is_anomaly"] = stat >= threshold
    out["statistic"] = stat
    drivers: list[dict[str, Any]] = [{} for _ in range(len(out))]
    reasons = [""] * len(out)
    if explain:
        observed = ch.observed(features)
        view_list = list(views)
        for i in np.flatnonzero(stat >= EXPLAIN_FROM * threshold):
            chosen = [view_list[v] for v in best_view[i]]
            drivers[i], reasons[i] = _explain(strongest[i], chosen, mv[i], observed[i], expected[i])
    out["drivers"] = pd.Series(drivers, index=out.index, dtype=object)
    out["reason"] = reasons
    out["driver_feature"] = np.where(joint, JOINT_FEATURE, names[channel])
    out["driver_view"] = np.where(joint, JOINT_VIEW, view_names[best_view[rows, channel]])
    out["model_version"] = model.version
    return out


def _explain(
    strongest: np.ndarray,
    views: list[str],
    mv: float,
    observed: np.ndarray,
    expected: np.ndarray,
) -> tuple[dict[str, Any], str]:
    """Drivers (feature -> value, expected, z, surprise, view) and the reason in words."""
    order = [j for j in np.argsort(-strongest) if strongest[j] >= DRIVER_MIN_Z][:MAX_DRIVERS]
    drivers: dict[str, Any] = {}
    words = []
    for j in order:
        feature = ch.CHANNELS[j].name
        drivers[feature] = {
            "value": round(float(observed[j]), 6),
            "expected": round(float(expected[j]), 6),
            "z": round(float(strongest[j]), 2),
            "surprise": _surprise(strongest[j]),
            "view": views[j],
        }
        side = "above" if ch.CHANNELS[j].direction > 0 else "below"
        words.append(
            f"{feature} {observed[j]:.4g} vs {expected[j]:.4g} expected "
            f"({strongest[j]:.1f} sigma {side}, {views[j]} view)"
        )
    if mv >= (strongest.max() if strongest.size else 0.0):
        drivers[JOINT_FEATURE] = {"z": round(float(mv), 2), "surprise": _surprise(mv)}
        drivers[JOINT_FEATURE]["view"] = JOINT_VIEW
        words.insert(0, f"unusual combination of features ({mv:.1f} sigma, {JOINT_VIEW} view)")
    return drivers, "; ".join(words)


def _surprise(z: float) -> float:
    """-log10 of the upper tail probability of a calibrated z: the core's surprise scale."""
    return round(float(core.upper_tail_log10(np.array([z]))[0]), 2)
