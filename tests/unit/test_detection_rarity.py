"""The rarity and jump views: a value (or a jump) never seen before is news, a recurring
spike is not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from streaming.detection.rarity import value_rarity
from streaming.detection.views import ViewConfig, raw_views


def _spiky() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = 0.1 + rng.normal(0, 0.005, 3000)
    x[100::300] = 1.5  # a nightly job: recurring spikes far from the median
    x[2950] = 0.6  # halfway: nearer the median than any spike, but never seen
    return x


def test_a_value_never_seen_is_rarer_than_a_recurring_spike() -> None:
    rarity = value_rarity(_spiky(), window=2000, bandwidth=0.05, min_history=50)
    spikes = rarity[[2500, 2800]]  # spikes after several earlier ones (6 in the window)
    assert rarity[2950] == math.log(2001) > spikes.max() + math.log(6)
    assert np.nanmedian(rarity[1000:]) < 0.01  # the baseline is a busy neighbourhood


def test_rarity_is_causal_and_skips_missing_values() -> None:
    x = _spiky()
    x[500] = np.nan
    x[501] = np.inf
    whole = value_rarity(x, window=2000, bandwidth=0.05, min_history=50)
    head = value_rarity(x[:1500], window=2000, bandwidth=0.05, min_history=50)
    np.testing.assert_array_equal(whole[:1500], head)
    assert np.isnan(whole[:50]).all() and np.isnan(whole[[500, 501]]).all()
    assert np.isfinite(whole[502])


def test_the_jump_view_sees_a_step_the_values_alone_do_not() -> None:
    """A series that drifts slowly between 0 and 10 has seen every value, but never a jump
    of 8 from one row to the next."""
    t = np.arange(3000)
    x = 5 + 5 * np.sin(2 * math.pi * t / 400) + np.random.default_rng(8).normal(0, 0.05, t.size)
    x[2500:] -= 8.0  # at the crest: a step down from 10 to 2, a value the series visits
    ts = pd.date_range("2025-01-01", periods=t.size, freq="5min", tz="UTC").as_unit("ns").asi8
    raw = raw_views(ts, x, ViewConfig())
    assert raw["jump"][2500] == math.log(2001) > np.nanmax(raw["jump"][1000:2500]) + 1
    assert raw["rarity"][2500] < np.nanmax(raw["rarity"][1000:2500])
