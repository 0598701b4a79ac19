"""Turn an incident into traffic an analyst would recognise.

Volume scenarios (bot flood, emulator burst) add clicks on top of the segment's organic rate;
quality scenarios (CTR inflation, CPC manipulation, conversion drought) rewrite organic clicks in
the segment. Either way only events inside the incident's window and segment are touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from streaming.contract import BOUNCE_RANGE, CPC_RANGE, CTR_RANGE, GEOS
from streaming.generator.batch import EventBatch, segment_of
from streaming.generator.catalog import Catalog
from streaming.generator.incidents import FraudIncident, FraudType
from streaming.generator.rate_shape import mean_multiplier
from streaming.generator.traffic import PLATFORM_SHARES, organic_metrics
from streaming.generator.user_agents import (
    EMULATOR_INDICES,
    HEADLESS_INDICES,
    NORMAL_INDICES,
    NORMAL_WEIGHTS,
)
from streaming.generator.users import UserPool

# Extra clicks per organic click of the segment, at intensity 0 and 1.
_VOLUME = {FraudType.BOT_CLICK_FLOOD: (10.0, 40.0), FraudType.EMULATOR_BURST: (6.0, 24.0)}
_REWRITABLE = ("campaign", "ad", "cpc", "ctr", "conversion", "bounce", "truth")


def inject(
    rng: np.random.Generator,
    organic: EventBatch,
    incidents: Sequence[FraudIncident],
    window: tuple[int, int],
    base_rate_eps: float,
    catalog: Catalog,
    users: UserPool,
) -> EventBatch:
    """Organic batch for `window` plus the incidents overlapping it; `truth` records which."""
    batch = replace(
        organic,
        incidents=tuple(incidents),
        **{name: getattr(organic, name).copy() for name in _REWRITABLE},
    )
    parts = [batch]
    for k, inc in enumerate(incidents):
        start, end = max(window[0], inc.start_ms), min(window[1], inc.end_ms)
        if end <= start:
            continue
        segment = segment_of(inc.geo, inc.platform)
        if inc.type in _VOLUME:
            low, high = _VOLUME[inc.type]
            segment_eps = base_rate_eps * PLATFORM_SHARES[segment % 3] / len(GEOS)
            expected = segment_eps * mean_multiplier(start, end) * (end - start) / 1000
            count = int(rng.poisson(expected * (low + (high - low) * inc.intensity)))
            parts.append(_added(rng, inc, k, count, (start, end), segment, catalog, users))
        else:
            hit = (batch.segment == segment) & (batch.ts_ms >= start) & (batch.ts_ms < end)
            _rewrite(rng, batch, np.flatnonzero(hit & (batch.truth < 0)), inc, k, catalog)
    return EventBatch.concat(parts, tuple(incidents)) if len(parts) > 1 else batch


def _rewrite(
    rng: np.random.Generator,
    batch: EventBatch,
    idx: NDArray[np.intp],
    inc: FraudIncident,
    k: int,
    catalog: Catalog,
) -> None:
    i = inc.intensity
    if inc.type is FraudType.CTR_INFLATION:
        idx = idx[rng.random(idx.size) < 0.5 + 0.4 * i]  # injected clicks on one campaign
        batch.campaign[idx] = _campaign_index(inc)
        batch.ad[idx] = catalog.sample_ads(rng, batch.campaign[idx])
        batch.ctr[idx] = np.round(rng.uniform(CTR_RANGE[1] - 0.01, CTR_RANGE[1], idx.size), 4)
    elif inc.type is FraudType.CPC_MANIPULATION:
        if inc.campaign_id is not None:
            idx = idx[batch.campaign[idx] == _campaign_index(inc)]
        idx = idx[rng.random(idx.size) < 0.6 + 0.4 * i]
        raised = batch.cpc[idx] * (2.0 + 1.5 * i)
        batch.cpc[idx] = np.round(np.clip(raised, CPC_RANGE[0], CPC_RANGE[1]), 2)
    elif inc.type is FraudType.CONVERSION_DROUGHT:
        batch.conversion[idx] = 0
        low = BOUNCE_RANGE[1] - 0.1 * i
        batch.bounce[idx] = np.round(rng.uniform(low, BOUNCE_RANGE[1], idx.size), 3)
    batch.truth[idx] = k


def _added(
    rng: np.random.Generator,
    inc: FraudIncident,
    k: int,
    count: int,
    window: tuple[int, int],
    segment: int,
    catalog: Catalog,
    users: UserPool,
) -> EventBatch:
    """Identities, user agents and target ads are fixed per incident (drawn from the incident's
    own RNG) so a flood looks the same in every batch it spans."""
    own = np.random.default_rng(list(inc.id.encode()))
    platform = segment % 3
    campaign = _campaign_index(inc)
    if inc.type is FraudType.BOT_CLICK_FLOOD:
        n_ids = 2 + round(4 * inc.intensity)  # a handful of scripted "users"
        uas = own.choice(NORMAL_INDICES[platform], n_ids, p=NORMAL_WEIGHTS[platform])
        bounce_low, prefix = 0.85, "bot"
    else:
        n_ids = int(own.integers(20, 61))  # an emulator farm rotating device ids
        pool = HEADLESS_INDICES if platform == 0 else EMULATOR_INDICES
        uas = own.choice(pool, n_ids)
        bounce_low, prefix = 0.65, "device"
    ads = catalog.sample_ads(own, np.full(3, campaign, dtype=np.int16))
    hashes = np.array(users.hash_keys(f"{prefix}:{inc.id}:{j}" for j in range(n_ids)), dtype=object)
    who = rng.integers(0, n_ids, count)
    campaigns = np.full(count, campaign, dtype=np.int16)
    segments = np.full(count, segment, dtype=np.int16)
    cpc, ctr, _, _ = organic_metrics(rng, catalog, campaigns, segments)
    return EventBatch(
        ts_ms=rng.integers(window[0], window[1], count, dtype=np.int64),
        segment=segments,
        user_hash=hashes[who],
        campaign=campaigns,
        ad=ads[rng.integers(0, ads.size, count)],
        ua=uas[who].astype(np.int16),
        cpc=cpc,
        ctr=ctr,
        conversion=np.zeros(count, dtype=np.int8),
        bounce=np.round(rng.uniform(bounce_low, BOUNCE_RANGE[1], count), 3),
        truth=np.full(count, k, dtype=np.int16),
        id_bytes=np.zeros((count, 16), dtype=np.uint8),
    )


def _campaign_index(inc: FraudIncident) -> int:
    if inc.campaign_id is None:
        raise ValueError(f"incident {inc.id} ({inc.type}) needs a campaign_id")
    return int(inc.campaign_id.removeprefix("camp_"))
