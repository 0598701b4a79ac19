"""Loading a labelled series set for `adnomaly evaluate-series`: the CSVs under a data folder,
a windows JSON, and either `adnomaly detect`'s scores (computed here) or precomputed score
CSVs (`timestamp,...,anomaly_score`), so a published detector's output can be scored the
same way as ours.

Names are paths relative to the data folder with '/' (`realTraffic/speed_6005.csv`), as the
windows file keys them; the category is the first folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from streaming.detection.benchmark import LabelledSeries, window_rows
from streaming.detection.csv_input import (
    SeriesInputError,
    numeric_columns,
    parse_timestamps,
    read_csv,
)


@dataclass(frozen=True)
class SeriesFile:
    name: str
    category: str
    timestamps: pd.DatetimeIndex
    values: pd.DataFrame
    labelled: LabelledSeries


def read_windows(path: Path) -> dict[str, list[list[str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeriesInputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SeriesInputError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SeriesInputError(f"{path}: expected an object mapping file names to windows")
    return data


def _score_file(scores_dir: Path, name: str) -> Path:
    """`<category>/<name>.csv`, or the published layout `<category>/<detector>_<name>.csv`."""
    direct = scores_dir / name
    if direct.exists():
        return direct
    folder, base = (scores_dir / name).parent, Path(name).name
    found = sorted(folder.glob(f"*_{base}"))
    if len(found) != 1:
        raise SeriesInputError(f"{scores_dir}: no single score file for {name}")
    return found[0]


Scorer = Callable[[pd.DatetimeIndex, pd.DataFrame], np.ndarray]


def load(
    data_dir: Path, windows_file: Path, scorer: Scorer, scores_dir: Path | None = None
) -> list[SeriesFile]:
    """Every CSV under `data_dir` with an entry in the windows file (a CSV without one is an
    error: its windows are unknown, not empty), scored by `scorer` or read from `scores_dir`.

    Files are read and scored one process per core (forked, so `scorer` need not pickle):
    each file is independent and the scoring is CPU-bound; results come back in file order."""
    windows = read_windows(windows_file)
    paths = sorted(data_dir.rglob("*.csv"))
    if not paths:
        raise SeriesInputError(f"{data_dir}: no CSV files")
    jobs = []
    for path in paths:
        name = path.relative_to(data_dir).as_posix()
        if name not in windows:
            raise SeriesInputError(f"{windows_file}: no windows for {name}")
        jobs.append(_Job(path, name, windows[name], scores_dir))
    _SCORER["scorer"] = scorer
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_one(job) for job in jobs]
    # the biggest files first, so the two workers finish together; then back to file order
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].path.stat().st_size)
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        done = dict(zip(order, pool.map(_one, [jobs[i] for i in order]), strict=True))
    return [done[i] for i in range(len(jobs))]


@dataclass(frozen=True)
class _Job:
    path: Path
    name: str
    windows: list[list[str]]
    scores_dir: Path | None


_SCORER: dict[str, Scorer] = {}  # set by load() before the workers fork, which inherit it


def _one(job: _Job) -> SeriesFile:
    name = job.name
    try:
        frame = read_csv(job.path)
        timestamps = parse_timestamps(frame)
        values = numeric_columns(frame)
    except SeriesInputError as exc:
        raise SeriesInputError(f"{name}: {exc}") from None
    if job.scores_dir is None:
        scores = np.asarray(_SCORER["scorer"](timestamps, values), dtype=np.float64)
    else:
        given = pd.read_csv(_score_file(job.scores_dir, name))
        if "anomaly_score" not in given or len(given) != len(frame):
            raise SeriesInputError(
                f"{name}: score file needs an anomaly_score column and {len(frame)} rows"
            )
        scores = given["anomaly_score"].to_numpy(dtype=np.float64)
    labelled = LabelledSeries(name, scores, window_rows(timestamps, job.windows))
    category = name.split("/")[0] if "/" in name else "."
    return SeriesFile(name, category, timestamps, values, labelled)
