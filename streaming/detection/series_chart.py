"""One PNG per labelled series for `adnomaly evaluate-series`: the values, the labelled
windows shaded, the probationary period greyed, and the rows at or above the chosen
threshold marked, with the anomaly score below, so a reviewer sees at a glance what was
caught, missed or falsely flagged.

Matplotlib's object API (`Figure`): no global state, no GUI backend. Cheap by design, since
35 charts were most of an `evaluate-series` run: a long series is drawn as its per-pixel
min/max envelope (what a line of 20,000 points looks like at 800 pixels anyway, spikes kept),
fixed margins instead of a layout engine, and the PNG written at zlib level 1.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from streaming.detection.benchmark import LabelledSeries

COLUMNS = 1000  # envelope buckets: more than the ~800 pixels the axes are wide at 72 dpi


def envelope(x: np.ndarray, y: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) to draw: the points themselves up to 2 x `columns`, else each bucket's min and
    max (NaN-ignoring; an all-NaN bucket stays a gap) at the bucket's first x."""
    if len(y) <= 2 * columns:
        return x, y
    starts = (np.arange(columns) * len(y)) // columns
    with np.errstate(invalid="ignore"):
        low, high = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    return np.repeat(x[starts], 2), np.column_stack([low, high]).ravel()


def series_chart(
    timestamps: pd.DatetimeIndex,
    values: np.ndarray,
    series: LabelledSeries,
    threshold: float,
    path: Path,
) -> Path:
    fig = Figure(figsize=(12, 4.5))  # fixed margins: a layout engine costs more than the plot
    fig.subplots_adjust(left=0.06, right=0.99, top=0.93, bottom=0.07, hspace=0.08)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    naive = timestamps.tz_localize(None) if timestamps.tz is not None else timestamps
    x = naive.to_numpy()
    top.plot(*envelope(x, np.asarray(values, dtype=np.float64)), lw=0.6, color="tab:blue")
    for ax in (top, bottom):
        for lo, hi in series.windows:
            ax.axvspan(x[lo], x[hi], color="tab:orange", alpha=0.25, lw=0)
        if series.probation:
            ax.axvspan(x[0], x[series.probation - 1], color="grey", alpha=0.15, lw=0)
    hits = np.flatnonzero(series.scores >= threshold)
    hits = hits[hits >= series.probation]
    if hits.size:
        top.scatter(x[hits], values[hits], s=14, color="tab:red", zorder=3, label="detection")
        top.legend(loc="upper left", fontsize=8)
    bottom.plot(*envelope(x, series.scores), lw=0.6, color="black")
    if np.isfinite(threshold):
        bottom.axhline(threshold, color="tab:red", lw=0.8, ls="--")
    bottom.set_ylabel("score")
    top.set_title(
        f"{series.name}: {len(series.windows)} window(s) shaded, detections at score >= "
        f"{threshold:.4g} marked, probation grey",
        fontsize=9,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72, pil_kwargs={"compress_level": 1})
    return path


def _one(job: tuple[pd.DatetimeIndex, np.ndarray, LabelledSeries, float, Path]) -> Path:
    return series_chart(*job)


def series_charts(
    jobs: list[tuple[pd.DatetimeIndex, np.ndarray, LabelledSeries, float, Path]],
) -> list[Path]:
    """Many charts at once, one process per core: drawing is CPU-bound and each chart is
    independent (35 charts take most of an `evaluate-series` run on one core)."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_one(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        return list(pool.map(_one, jobs, chunksize=4))
