"""The sustained view of a feature window: its evidence pooled with the segment's previous,
disjoint window (the one that ended when this one started).

Why: at night a segment has a handful of clicks per 5-minute window, so a quality fraud
(CTR or CPC rewritten on most clicks) moves one window only 3-4.7 sigma, under the threshold,
however long it lasts. The scoring core of `adnomaly detect` judges the mean of the last few
raw values, not one row, for the same reason; here the raw values are the calibrated channel
z-scores of two disjoint windows, pooled as Stouffer does ((z1 + z2) / sqrt(2): the evidence
of twice the clicks). Overlapping windows would count the same clicks twice, hence the
previous *disjoint* window. Pooled z-scores get their own calibration on the training
history's tail (train.py), so the threshold means the same false-alarm rate in every view.

The previous window's z counts at most as much as this window's own: the view strengthens
evidence that persists, while one blatant window (z 20) must not make the window five minutes
later an alarm on its own (the pooled z would be 14 with a normal current window).

A window whose predecessor is unknown (no clicks then, or not seen yet by this process) keeps
its own z: the view says nothing more than the window itself.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
VIEW: Final = "sustained"


def _keys(segments: NDArray[np.object_], ends_ns: NDArray[np.int64]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([segments, ends_ns])


def window_ends_ns(features: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(window_end, window_start) of each row as UTC nanoseconds."""
    end = pd.DatetimeIndex(pd.to_datetime(features["window_end"], utc=True)).as_unit("ns")
    start = pd.DatetimeIndex(pd.to_datetime(features["window_start"], utc=True)).as_unit("ns")
    return end.asi8, start.asi8


class WindowMemory:
    """The sided z-scores of recently scored windows, by (segment, window_end), so a window
    whose predecessor came in an earlier batch of the stream still finds it. Holds
    `keep_ns` of stream time per segment; tied to one model version (z-scores of another
    model are not comparable), and emptied when the version changes."""

    def __init__(self, keep_ns: int = 15 * 60 * 10**9) -> None:
        self.keep_ns = keep_ns
        self.version: str | None = None
        self._z: dict[tuple[str, int], Array] = {}
        self._newest = np.iinfo(np.int64).min

    def for_version(self, version: str) -> WindowMemory:
        if version != self.version:
            self._z.clear()
            self.version = version
            self._newest = np.iinfo(np.int64).min
        return self

    def lookup(self, segment: str, end_ns: int) -> Array | None:
        return self._z.get((segment, end_ns))

    def remember(self, segments: list[str], ends_ns: NDArray[np.int64], sided: Array) -> None:
        for segment, end, row in zip(segments, ends_ns.tolist(), sided, strict=True):
            self._z[(segment, end)] = row
        if len(ends_ns):
            self._newest = max(self._newest, int(ends_ns.max()))
        horizon = self._newest - self.keep_ns
        for key in [k for k in self._z if k[1] < horizon]:
            del self._z[key]

    def __len__(self) -> int:
        return len(self._z)


def pooled(
    segments: NDArray[np.object_],
    features: pd.DataFrame,
    sided: Array,
    memory: WindowMemory | None = None,
) -> Array:
    """Stouffer's pooling of each row's sided z with its segment's previous disjoint window
    (found in `features` itself, else in `memory`); rows without one keep their own z."""
    end, start = window_ends_ns(features)
    own = pd.Series(np.arange(len(features)), index=_keys(segments, end))
    own = own[~own.index.duplicated(keep="last")]
    found = own.reindex(_keys(segments, start)).to_numpy()
    previous = np.full(sided.shape, np.nan)
    inside = ~np.isnan(found)
    previous[inside] = sided[found[inside].astype(np.intp)]
    if memory is not None:
        for i in np.flatnonzero(~inside):
            row = memory.lookup(str(segments[i]), int(start[i]))
            if row is not None:
                previous[i] = row
    # the previous window counts at most as strongly as this one: a blatant window must not
    # echo into the next disjoint window as an alarm after the fraud has stopped
    previous = np.minimum(previous, sided)
    result: Array = np.where(np.isnan(previous), sided, (sided + previous) / np.sqrt(2.0))
    return result
