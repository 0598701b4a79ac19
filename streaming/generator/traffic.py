"""Organic (fraud-free) clicks, with the distributions README's "Data" section lists.

Geos are equally likely and platforms split 40/30/30; CTR, CPC and bounce come from the clicked
campaign's level with per-click noise, and conversion odds rise with CTR so an engaged audience
converts more ("CTR affects conversion probability", as the product was first specified).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.contract import BOUNCE_RANGE, CPC_RANGE, CTR_RANGE, GEOS, PLATFORMS
from streaming.generator.batch import EventBatch
from streaming.generator.catalog import GEO_CPC_FACTOR, Catalog
from streaming.generator.rate_shape import sample_times_ms
from streaming.generator.users import UserPool

PLATFORM_SHARES: NDArray[np.float64] = np.array([0.40, 0.30, 0.30])  # web, ios, android
_PLATFORM_CDF = np.cumsum(PLATFORM_SHARES)
_PLATFORM_CTR = np.array([0.9, 1.1, 1.1])  # in-app placements get clicked a bit more
_PLATFORM_BOUNCE = np.array([0.0, 0.03, 0.04])
_N_PLATFORMS = len(PLATFORMS)


def conversion_probability(ctr: NDArray[np.float64]) -> NDArray[np.float64]:
    """About 1.2% at the lowest CTR and 8.4% at the highest."""
    result: NDArray[np.float64] = 0.004 + 1.6 * ctr
    return result


def organic_metrics(
    rng: np.random.Generator,
    catalog: Catalog,
    campaigns: NDArray[np.int16],
    segments: NDArray[np.int16],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8], NDArray[np.float64]]:
    """(CPC, CTR, conversion, bounce) rounded the way a reporting system would show them."""
    n = campaigns.size
    geo, platform = np.divmod(segments.astype(np.intp), _N_PLATFORMS)
    ctr_raw = catalog.ctr_level[campaigns] * _PLATFORM_CTR[platform] * rng.lognormal(0, 0.25, n)
    ctr = np.round(np.clip(ctr_raw, *CTR_RANGE), 4)
    cpc_raw = catalog.cpc_level[campaigns] * GEO_CPC_FACTOR[geo] * rng.lognormal(0, 0.15, n)
    cpc = np.round(np.clip(cpc_raw, *CPC_RANGE), 2)
    conversion = (rng.random(n) < conversion_probability(ctr)).astype(np.int8)
    bounce_raw = (
        catalog.bounce_level[campaigns]
        + _PLATFORM_BOUNCE[platform]
        + rng.normal(0.0, 0.08, n)
        - 0.18 * conversion  # someone who converts did not bounce straight away
    )
    bounce = np.round(np.clip(bounce_raw, *BOUNCE_RANGE), 3)
    return cpc, ctr, conversion, bounce


def sample_segments(rng: np.random.Generator, n: int) -> NDArray[np.int16]:
    geo = rng.integers(0, len(GEOS), n)
    platform = np.searchsorted(_PLATFORM_CDF, rng.random(n) * _PLATFORM_CDF[-1], side="right")
    segments: NDArray[np.int16] = (
        geo * _N_PLATFORMS + np.minimum(platform, _N_PLATFORMS - 1)
    ).astype(np.int16)
    return segments


def organic_batch(
    rng: np.random.Generator,
    n: int,
    start_ms: int,
    end_ms: int,
    catalog: Catalog,
    users: UserPool,
) -> EventBatch:
    """n organic clicks in [start, end); event ids are assigned once the batch is final."""
    segments = sample_segments(rng, n)
    campaigns = catalog.sample_campaigns(rng, n)
    codes = users.sample(rng, segments)
    cpc, ctr, conversion, bounce = organic_metrics(rng, catalog, campaigns, segments)
    return EventBatch(
        ts_ms=sample_times_ms(rng, n, start_ms, end_ms),
        segment=segments,
        user_hash=users.hashes(codes),
        campaign=campaigns,
        ad=catalog.sample_ads(rng, campaigns),
        ua=users.user_agents(codes),
        cpc=cpc,
        ctr=ctr,
        conversion=conversion,
        bounce=bounce,
        truth=np.full(n, -1, dtype=np.int16),
        id_bytes=np.zeros((n, 16), dtype=np.uint8),
    )
