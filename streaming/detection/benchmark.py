"""Scoring a detector on labelled series by the Numenta Anomaly Benchmark's published method.

Why this method: it rewards catching an anomaly early inside its labelled window, charges each
detection outside a window (less when it follows a window closely), and optimises one threshold
over the whole set, so a detector whose scores mean different things on different series
cannot hide it. The rules (as `series-dev/README.md` states them):

- Per file the first 15% of rows (at most 750) are probationary: detections there count for
  nothing.
- A window's earliest detection scores sigma(p) * tp / sigma(-1), p = -(right - i + 1) / width;
  a window without one costs -fn.
- A detection outside windows costs fp * sigma(q), q = |i - previous right| / (previous width
  - 1) (-1 with no previous window or q > 3).
- The threshold maximises the summed raw score over all files; normalised
  100 * (S - S_null) / (S_perfect - S_null).

The sweep is exact: every distinct score is a candidate threshold, and the total at a
threshold is a cumulative sum over rows sorted by score, so a 128k-row set is scored in well
under a second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


PROFILES = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_fp", 1.0, 0.22, 1.0),
    Profile("reward_low_fn", 1.0, 0.11, 2.0),
)


def sigma(x: Array) -> Array:
    """The benchmark's scaled sigmoid: 2/(1+e^{5x}) - 1, and -1 past 3 window widths."""
    out: Array = np.where(x > 3.0, -1.0, 2.0 / (1.0 + np.exp(np.minimum(5.0 * x, 700.0))) - 1.0)
    return out


@dataclass(frozen=True)
class LabelledSeries:
    """One file: its detector scores and its windows as row index ranges [left, right]."""

    name: str
    scores: Array
    windows: tuple[tuple[int, int], ...]

    @property
    def probation(self) -> int:
        n = len(self.scores)
        return int(min(math.floor(0.15 * n), 0.15 * 5000))


def window_rows(
    timestamps: pd.DatetimeIndex, windows: Sequence[Sequence[str]]
) -> tuple[tuple[int, int], ...]:
    """Windows given as [start, end] timestamps -> inclusive row index ranges."""
    ts = timestamps.as_unit("ns").asi8
    out = []
    for start, end in windows:
        lo = int(np.searchsorted(ts, pd.Timestamp(start, tz="UTC").value, side="left"))
        hi = int(np.searchsorted(ts, pd.Timestamp(end, tz="UTC").value, side="right")) - 1
        if hi >= lo:
            out.append((lo, hi))
    return tuple(out)


def row_weights(series: LabelledSeries, profile: Profile) -> tuple[Array, NDArray[np.intp]]:
    """(weight of a detection at each row, window id of the row or -1 outside windows);
    probationary rows weigh 0 and belong to no window."""
    n = len(series.scores)
    weight = np.empty(n)
    window = np.full(n, -1, dtype=np.intp)
    idx = np.arange(n, dtype=np.float64)
    prev_right, prev_width = -1, 0.0
    cursor = 0
    max_tp = float(sigma(np.array([-1.0]))[0])
    for k, (left, right) in enumerate((*series.windows, (n, n))):
        gap = slice(cursor, left)
        if prev_right < 0:
            weight[gap] = -1.0 * profile.fp
        else:
            q = np.abs(prev_right - idx[gap]) / max(prev_width - 1.0, 1e-9)
            weight[gap] = sigma(q) * profile.fp
        if left >= n:
            break
        width = float(right - left + 1)
        inside = slice(left, right + 1)
        weight[inside] = sigma(-(right - idx[inside] + 1) / width) * profile.tp / max_tp
        window[inside] = k
        prev_right, prev_width, cursor = right, width, right + 1
    weight[: series.probation] = 0.0
    window[: series.probation] = -1
    return weight, window


def _events(series: LabelledSeries, profile: Profile) -> tuple[Array, Array]:
    """(score, change of the file's total when a threshold at or below that score is used),
    one entry per row that can change the total."""
    weight, window = row_weights(series, profile)
    keep = np.arange(len(weight)) >= series.probation
    outside = keep & (window < 0)
    scores, deltas = [series.scores[outside]], [weight[outside]]
    for k in range(len(series.windows)):
        rows = np.flatnonzero(keep & (window == k))
        if not rows.size:
            continue
        order = rows[np.argsort(-series.scores[rows], kind="stable")]
        best = np.maximum.accumulate(weight[order])
        gain = np.diff(best, prepend=0.0)
        gain[0] = best[0] + profile.fn  # the first detection also cancels the miss
        scores.append(series.scores[order])
        deltas.append(gain)
    return np.concatenate(scores), np.concatenate(deltas)


def sweep(series: Sequence[LabelledSeries], profile: Profile) -> tuple[float, float]:
    """(best threshold, its raw summed score); never-firing (threshold above every score) is a
    candidate too."""
    windows = sum(len(s.windows) for s in series)
    null = -profile.fn * windows
    parts = [_events(s, profile) for s in series]
    scores = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    deltas = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    if not scores.size:
        return math.inf, null
    order = np.argsort(-scores, kind="stable")
    scores, totals = scores[order], null + np.cumsum(deltas[order])
    last = np.r_[scores[1:] != scores[:-1], True]  # a threshold takes all rows of equal score
    candidates, values = scores[last], totals[last]
    best = int(np.argmax(values))
    if values[best] <= null:
        return math.inf, null
    return float(candidates[best]), float(values[best])


def normalise(raw: float, series: Sequence[LabelledSeries], profile: Profile) -> float:
    windows = sum(len(s.windows) for s in series)
    null, perfect = -profile.fn * windows, profile.tp * windows
    return 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0


def raw_score(series: Sequence[LabelledSeries], profile: Profile, threshold: float) -> float:
    total = 0.0
    for s in series:
        scores, deltas = _events(s, profile)
        total += float(deltas[scores >= threshold].sum())
    return total - profile.fn * sum(len(s.windows) for s in series)


def events_at(series: LabelledSeries, threshold: float) -> dict[str, object]:
    """At `threshold`: detection events (runs of consecutive detections after probation), how
    many overlap a window, the windows caught, and each caught window's delay in rows from its
    left edge."""
    hits = series.scores >= threshold
    hits[: series.probation] = False
    starts = np.flatnonzero(hits & ~np.r_[False, hits[:-1]])
    ends = np.flatnonzero(hits & ~np.r_[hits[1:], False])
    true_events = sum(
        any(lo <= e and s <= hi for lo, hi in series.windows)
        for s, e in zip(starts, ends, strict=True)
    )
    delays = []
    for lo, hi in series.windows:
        lo = max(lo, series.probation)
        inside = np.flatnonzero(hits[lo : hi + 1])
        if inside.size:
            delays.append(int(inside[0]))
    return {"events": int(starts.size), "true_events": int(true_events), "delays": delays}


def evaluate(
    series: Sequence[LabelledSeries], categories: Mapping[str, str]
) -> dict[str, dict[str, object]]:
    """Per profile: the set-wide threshold and normalised score, event precision/recall and
    median delay at it, and per category the score with the category's own best threshold and
    with the set-wide one. `categories` maps a series name to its category."""
    report: dict[str, dict[str, object]] = {}
    for profile in PROFILES:
        threshold, raw = sweep(series, profile)
        events = [events_at(s, threshold) for s in series]
        n_events = sum(int(e["events"]) for e in events)  # type: ignore[call-overload]
        n_true = sum(int(e["true_events"]) for e in events)  # type: ignore[call-overload]
        delays = [d for e in events for d in e["delays"]]  # type: ignore[attr-defined]
        windows = sum(len(s.windows) for s in series)
        per_category = {}
        for category in sorted(set(categories.values())):
            members = [s for s in series if categories[s.name] == category]
            own_t, own_raw = sweep(members, profile)
            per_category[category] = {
                "files": len(members),
                "windows": sum(len(s.windows) for s in members),
                "score": round(normalise(own_raw, members, profile), 2),
                "threshold": own_t,
                "score_at_set_threshold": round(
                    normalise(raw_score(members, profile, threshold), members, profile), 2
                ),
            }
        report[profile.name] = {
            "score": round(normalise(raw, series, profile), 2),
            "threshold": threshold,
            "windows": windows,
            "windows_detected": len(delays),
            "events": n_events,
            "event_precision": round(n_true / n_events, 4) if n_events else None,
            "event_recall": round(len(delays) / windows, 4) if windows else None,
            "median_delay_rows": float(np.median(delays)) if delays else None,
            "categories": per_category,
        }
    return report
