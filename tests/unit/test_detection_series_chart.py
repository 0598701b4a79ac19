"""The chart's envelope: a long series drawn at pixel resolution keeps every spike and gap;
a short one is drawn as is."""

from __future__ import annotations

import numpy as np

from streaming.detection.series_chart import envelope


def test_a_short_series_is_drawn_point_by_point() -> None:
    x, y = np.arange(50), np.sin(np.arange(50))
    ex, ey = envelope(x, y, columns=100)
    assert ex is x and ey is y


def test_a_long_series_keeps_each_buckets_extremes_and_its_gaps() -> None:
    y = np.zeros(100_000)
    y[12_345], y[77_777] = 9.0, -4.0  # one-row spikes
    y[50_000:50_100] = np.nan  # a whole bucket missing
    x = np.arange(y.size)
    ex, ey = envelope(x, y, columns=1000)
    assert ex.size == ey.size == 2000
    assert np.nanmax(ey) == 9.0 and np.nanmin(ey) == -4.0
    assert ex[np.nanargmax(ey)] == 12_300  # drawn at its bucket's first x
    assert np.isnan(ey[2 * 500]) and np.isnan(ey[2 * 500 + 1])  # the gap stays a gap
    assert np.all(np.diff(ex) >= 0)
