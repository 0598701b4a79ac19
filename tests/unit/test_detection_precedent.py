"""Precedent: a daily spike at a jittered time is usual, a new one is not; a burst inside the
recent range is no level anomaly, one beyond it is."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from streaming.detection.precedent import (
    PrecedentConfig,
    days_with_precedent,
    within_recent_range,
)
from streaming.detection.series import DEFAULTS, score_detail

DAY = 288  # rows of 5 minutes


def _nightly(days: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A 0.1 baseline with a 1.5 spike around 02:00 each night, up to 25 minutes early or
    late (a cron job on a busy host), and on the last night a 2.5 spike at 14:00 instead."""
    rng = np.random.default_rng(4)
    x = 0.1 + rng.normal(0, 0.005, days * DAY)
    for d in range(days - 1):
        x[d * DAY + 24 + rng.integers(-5, 6)] = 1.5
    x[(days - 1) * DAY + 168] = 2.5
    ts = pd.date_range("2025-01-01", periods=x.size, freq="5min", tz="UTC").as_unit("ns").asi8
    return ts, x


def test_a_daily_spike_has_precedent_after_two_days_and_a_new_one_has_none() -> None:
    ts, x = _nightly()
    days = days_with_precedent(ts, x)
    spikes = np.flatnonzero(x == 1.5)
    assert days[spikes[0]] == 0 and days[spikes[1]] <= 1
    assert (days[spikes[2:]] >= 2).all()  # seen within the hour on 2+ earlier nights
    assert days[np.flatnonzero(x == 2.5)[0]] == 0  # another time, another size
    assert np.median(days[8 * DAY :]) == 7  # the baseline is usual on every earlier day


def test_the_usual_spike_weighs_less_the_new_one_is_an_alarm() -> None:
    ts, x = _nightly()
    index, frame = pd.DatetimeIndex(pd.to_datetime(ts, utc=True)), pd.DataFrame({"cpu": x})
    scores = score_detail(index, frame)
    without = score_detail(index, frame, replace(DEFAULTS, precedent_gain=1.0))
    late = np.flatnonzero(x == 1.5)[4:]
    assert (scores.score[late] < without.score[late]).all()
    assert scores.is_anomaly[np.flatnonzero(x == 2.5)[0]]


def test_precedent_only_looks_at_rows_that_arrived_earlier() -> None:
    ts, x = _nightly(4)
    # the clock jumps back: the last day's rows arrive first; they have no earlier rows
    order = np.r_[np.arange(3 * DAY, 4 * DAY), np.arange(3 * DAY)]
    shuffled = days_with_precedent(ts[order], x[order])
    assert (shuffled[: DAY - 12] == 0).all()  # its last hour may match its own first one
    head = days_with_precedent(ts[: 2 * DAY], x[: 2 * DAY])
    np.testing.assert_array_equal(days_with_precedent(ts, x)[: 2 * DAY], head)
    narrow = PrecedentConfig(max_rows=1)  # the nearest row only: a jittered spike is missed
    spike = np.flatnonzero(x == 1.5)[2]
    assert days_with_precedent(ts, x)[spike] == 2 > days_with_precedent(ts, x, narrow)[spike]


def test_the_recent_range_gates_the_level_view() -> None:
    """Bursts to 4e8 on an idle disk, many times: each is far from the median (0) but inside
    the range seen; a burst to 6e8 leaves it, and so does a first burst."""
    rng = np.random.default_rng(6)
    x = np.abs(rng.normal(0, 1e5, 3000))
    x[200::97] = rng.uniform(3.8e8, 4e8, x[200::97].size)
    x[2900] = 6e8
    inside = within_recent_range(x, window=2000, margin=0.05, min_history=50)
    bursts = np.flatnonzero((x > 1e8) & (x < 5e8))
    assert not inside[bursts[0]] and inside[bursts[1:]].all() and not inside[2900]
    assert not inside[:50].any()  # no range yet
    ts = pd.date_range("2025-01-01", periods=x.size, freq="5min", tz="UTC")
    index, frame = pd.DatetimeIndex(ts), pd.DataFrame({"disk": x})
    gated = score_detail(index, frame)
    ungated = score_detail(index, frame, replace(DEFAULTS, range_gain=1.0))
    assert gated.is_anomaly[bursts[5:]].sum() < ungated.is_anomaly[bursts[5:]].sum()
    assert gated.is_anomaly[2900]
