"""How each feature of a window becomes evidence: a transform with a known noise law, so one
z-score scale fits windows of 3 clicks and of 3,000.

- `count` (clicks, conversions, clicks with a suspicious UA, repeat clicks = events minus
  unique users): Anscombe's square root makes Poisson noise about unit-variance whatever the
  rate, so two clicks from one user at 4 a.m. are not "events per user doubled"; the
  expected level is fitted on log(sqrt(k)) so the weekly shape is a multiplicative factor,
  as traffic curves are.
- `mean` / `logmean` (per-click averages): the noise of a mean of n clicks shrinks as
  1/sqrt(n), so residuals are multiplied by sqrt(n); CTR and CPC are right-skewed (log-normal
  per click), hence their log.

`direction` is the side fraud pushes a feature to: evidence is one-sided (a CPC collapse or a
quiet hour is not ad fraud). The multivariate part is fitted on both sides, since that is how
features co-vary, but measures only the fraud-side part of a window (see `fraud_side`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
WEEK: Final = timedelta(days=7)


@dataclass(frozen=True)
class Channel:
    name: str  # also the label in reasons and drivers
    kind: Literal["count", "mean", "logmean"]
    direction: int
    floor: float  # smallest per-segment scale: a feature that never varied in history


# Floors: counts 1.0 = Poisson; CTR/CPC 5% per click on the log scale; bounce 0.02 per click.
CHANNELS: Final[tuple[Channel, ...]] = (
    Channel("event_count", "count", +1, 1.0),
    Channel("ctr_avg", "logmean", +1, 0.05),
    Channel("cpc_avg", "logmean", +1, 0.05),
    Channel("bounce_rate_avg", "mean", +1, 0.02),
    Channel("conversions", "count", -1, 1.0),
    Channel("suspicious_ua_clicks", "count", +1, 1.0),
    Channel("repeat_clicks", "count", +1, 1.0),
)
NAMES: Final[tuple[str, ...]] = tuple(c.name for c in CHANNELS)
DIRECTIONS: Final[Array] = np.array([c.direction for c in CHANNELS], dtype=np.float64)
FLOORS: Final[Array] = np.array([c.floor for c in CHANNELS], dtype=np.float64)
_TINY = 1e-9


def observed(features: pd.DataFrame) -> Array:
    """Each channel's value in feature units [rows, channels]; counts are rebuilt from the
    feature row's shares (rounded: a share times the clicks is a whole number of clicks)."""
    n = features["event_count"].to_numpy(dtype=np.float64)

    def col(name: str) -> Array:
        return features[name].to_numpy(dtype=np.float64)

    values = {
        "event_count": n,
        "ctr_avg": col("ctr_avg"),
        "cpc_avg": col("cpc_avg"),
        "bounce_rate_avg": col("bounce_rate_avg"),
        "conversions": np.round(col("conversion_rate") * n),
        "suspicious_ua_clicks": np.round(col("suspicious_ua_share") * n),
        "repeat_clicks": n - col("unique_users"),
    }
    return np.column_stack([values[c.name] for c in CHANNELS])


def transformed(features: pd.DataFrame) -> tuple[Array, Array]:
    """(values in model space [rows, channels], event counts)."""
    raw = observed(features)
    out = raw.copy()
    for j, ch in enumerate(CHANNELS):
        if ch.kind == "count":
            out[:, j] = np.log(np.sqrt(np.maximum(raw[:, j], 0.0) + 3 / 8))
        elif ch.kind == "logmean":
            out[:, j] = np.log(np.maximum(raw[:, j], _TINY))
    return out, raw[:, 0]


def residuals(values: Array, expected: Array, n: Array) -> Array:
    """Residuals on each channel's noise scale (see the module docstring)."""
    out = values - expected
    weight = np.sqrt(np.maximum(n, 1.0))
    for j, ch in enumerate(CHANNELS):
        if ch.kind == "count":
            out[:, j] = 2 * (np.exp(values[:, j]) - np.exp(expected[:, j]))
        elif ch.kind in ("mean", "logmean"):
            out[:, j] *= weight
    return out


def fraud_side(z: Array, center: Array) -> Array:
    """z with each channel that moved against fraud's direction put back at `center`, so a
    distance from `center` counts joint evidence for fraud only."""
    result: Array = np.where((z - center) * DIRECTIONS > 0, z, center)
    return result


def in_feature_units(expected: Array) -> Array:
    """Expected values back in the features' own units, for the reasons an analyst reads."""
    out = expected.copy()
    for j, ch in enumerate(CHANNELS):
        if ch.kind == "count":
            out[:, j] = np.maximum(np.exp(2 * expected[:, j]) - 3 / 8, 0.0)
        elif ch.kind == "logmean":
            out[:, j] = np.exp(expected[:, j])
    return out


def week_slot(features: pd.DataFrame, slot: timedelta) -> NDArray[np.intp]:
    """Slot of the week (UTC) of each window's midpoint: the time-of-week the baseline's shape
    is indexed by."""
    start = pd.DatetimeIndex(pd.to_datetime(features["window_start"], utc=True)).as_unit("ns")
    end = pd.DatetimeIndex(pd.to_datetime(features["window_end"], utc=True)).as_unit("ns")
    mid = start.asi8 // 2 + end.asi8 // 2
    slot_ns, week_ns = pd.Timedelta(slot).value, pd.Timedelta(WEEK).value
    result: NDArray[np.intp] = ((mid % week_ns) // slot_ns).astype(np.intp)
    return result


def slots_per_week(slot: timedelta) -> int:
    if slot <= timedelta(0) or WEEK % slot:
        raise ValueError(f"slot {slot} must divide a week")
    return WEEK // slot
