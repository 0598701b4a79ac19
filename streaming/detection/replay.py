"""Simulated history without servers: the generator's events, turned into feature windows by
the reference computation, day by day.

Events come from `TrafficGenerator.batch()` one simulated hour at a time, with a Poisson
count whose mean follows the generator's daily/weekly curve, which is what history mode does
minute by minute; an hour per call is about twice as fast for the same traffic and labels.

Day chunks keep memory flat (a simulated week is millions of events). Each chunk also gets
the last size-slide of the previous day's events, so a window spanning midnight is computed
whole, and only windows whose whole time range was generated are returned: the result equals
one computation over the full range.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from streaming.features.reference import compute_features, empty_features
from streaming.generator import EventBatch, FraudIncident, TrafficGenerator
from streaming.generator.rate_shape import mean_multiplier
from streaming.generator.timebase import to_ms


def generate(
    gen: TrafficGenerator, start: datetime, end: datetime, rate: float
) -> list[EventBatch]:
    """One batch per simulated hour of [start, end) at `rate` clicks/s on weekly average."""
    rng = np.random.default_rng([gen.seed, 0x5EED, to_ms(start)])
    batches = []
    lo = start
    while lo < end:
        hi = min(lo + timedelta(hours=1), end)
        expected = rate * (hi - lo).total_seconds() * mean_multiplier(to_ms(lo), to_ms(hi))
        batch = gen.batch(int(rng.poisson(expected)), lo, hi)
        if len(batch):
            batches.append(batch)
        lo = hi
    return batches


def events_frame(
    gen: TrafficGenerator, start: datetime, end: datetime, rate: float
) -> pd.DataFrame:
    """All events of [start, end) as one EventBatch.to_frame() (one conversion instead of one
    per batch), with `incident_id` the ground truth of each event."""
    batches = generate(gen, start, end, rate)
    if not batches:
        return _no_events()
    incidents: dict[str, FraudIncident] = {}
    for batch in batches:
        incidents.update((inc.id, inc) for inc in batch.incidents)
    position = {inc_id: k for k, inc_id in enumerate(incidents)}
    every = tuple(incidents.values())
    renumbered = []
    for batch in batches:  # each batch's `truth` indexes its own incidents; make it global
        lookup = np.array([position[i.id] for i in batch.incidents] + [-1], dtype=np.int16)
        renumbered.append(replace(batch, truth=lookup[batch.truth], incidents=every))
    return EventBatch.concat(renumbered, every).to_frame()


def _no_events() -> pd.DataFrame:
    columns = ["event_id", "timestamp", "user_id_hash", "ad_id", "campaign_id", "geo"]
    columns += ["platform", "user_agent", "CPC", "CTR", "conversion", "bounce_rate"]
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return frame.astype({"timestamp": "datetime64[ns, UTC]"})


def features_between(
    gen: TrafficGenerator,
    start: datetime,
    end: datetime,
    rate: float,
    size: timedelta = timedelta(minutes=5),
    slide: timedelta = timedelta(minutes=1),
) -> pd.DataFrame:
    """Complete windows of [start, end) (window_start >= start, window_end <= end)."""
    parts = []
    carry = _no_events()
    overlap = size - slide
    day_start = start
    while day_start < end:
        day_end = min(day_start + timedelta(days=1), end)
        fresh = events_frame(gen, day_start, day_end, rate)
        events = pd.concat([carry, fresh], ignore_index=True) if len(carry) else fresh
        features = compute_features(events, size, slide)
        first = pd.Timestamp(start if carry.empty else day_start - overlap)
        whole = (features["window_start"] >= first) & (features["window_end"] <= day_end)
        parts.append(features[whole])
        carry = events[events["timestamp"] >= pd.Timestamp(day_end - overlap)]
        day_start = day_end
    if not parts:
        return empty_features()
    return pd.concat(parts, ignore_index=True)
