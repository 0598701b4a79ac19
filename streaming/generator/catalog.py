"""Advertisers' side of the traffic: campaigns with their own price and engagement levels, and
the ads that belong to them.

A per-campaign level (instead of one global range) is what makes a campaign-scoped fraud
recognisable: an analyst compares a campaign against its own history, not against the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from streaming.contract import GEOS

MAX_CAMPAIGNS = 1000  # camp_NNN
MAX_ADS = 10_000  # ad_NNNN

CAMPAIGN_NAMES: NDArray[np.object_] = np.array(
    [f"camp_{i:03d}" for i in range(MAX_CAMPAIGNS)], dtype=object
)
AD_NAMES: NDArray[np.object_] = np.array([f"ad_{i:04d}" for i in range(MAX_ADS)], dtype=object)

# Advertisers pay more for clicks from rich markets; the tiers only scale the campaign's level.
_TIER1 = {"US", "CH", "NO", "DK", "UK", "CA", "AU", "SE", "NL", "IE", "LU", "DE", "AT"}
_TIER3 = {"IN", "BR", "RO", "BG", "HR", "GR", "PT", "PL", "HU", "SK", "LT", "LV", "CY", "MT"}
GEO_CPC_FACTOR: NDArray[np.float64] = np.array(
    [1.2 if g in _TIER1 else 0.75 if g in _TIER3 else 1.0 for g in GEOS]
)


@dataclass(frozen=True, slots=True)
class Catalog:
    cpc_level: NDArray[np.float64]
    ctr_level: NDArray[np.float64]
    bounce_level: NDArray[np.float64]
    weight: NDArray[np.float64]
    ad_offset: NDArray[np.int64]
    ad_count: NDArray[np.int64]
    ad_number: NDArray[np.int16]

    @classmethod
    def build(cls, rng: np.random.Generator, n_campaigns: int = 120) -> Catalog:
        """Levels sit well inside the contract's ranges so fraud can push them to the edge."""
        if not 1 <= n_campaigns <= MAX_CAMPAIGNS:
            raise ValueError(f"n_campaigns must be 1..{MAX_CAMPAIGNS}, got {n_campaigns}")
        counts = rng.integers(4, 13, n_campaigns)
        if counts.sum() > MAX_ADS:
            raise ValueError("too many ads for the ad_NNNN id space")
        numbers = rng.choice(MAX_ADS, size=int(counts.sum()), replace=False).astype(np.int16)
        popularity = rng.lognormal(0.0, 0.9, n_campaigns)
        return cls(
            cpc_level=np.clip(rng.lognormal(np.log(0.40), 0.30, n_campaigns), 0.15, 0.80),
            ctr_level=np.clip(rng.lognormal(np.log(0.017), 0.30, n_campaigns), 0.008, 0.032),
            bounce_level=rng.uniform(0.38, 0.58, n_campaigns),
            weight=popularity / popularity.sum(),
            ad_offset=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
            ad_count=counts.astype(np.int64),
            ad_number=numbers,
        )

    @property
    def size(self) -> int:
        return int(self.weight.size)

    def sample_campaigns(self, rng: np.random.Generator, n: int) -> NDArray[np.int16]:
        cdf = np.cumsum(self.weight)
        idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
        result: NDArray[np.int16] = np.minimum(idx, self.size - 1).astype(np.int16)
        return result

    def sample_ads(
        self, rng: np.random.Generator, campaigns: NDArray[np.int16]
    ) -> NDArray[np.int16]:
        counts = self.ad_count[campaigns]
        pick = np.minimum((rng.random(campaigns.size) * counts).astype(np.int64), counts - 1)
        result: NDArray[np.int16] = self.ad_number[self.ad_offset[campaigns] + pick]
        return result
