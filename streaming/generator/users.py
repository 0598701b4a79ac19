"""Who clicks: a fixed population per (geo, platform) in which a few users are very active and
most come back rarely (a Zipf-like law), so user-level features see returning users.

The popularity curve is deliberately flat at the head: the busiest real user holds well under
1% of a segment's clicks, leaving "few users, many clicks" as the bot signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from streaming.contract import GEOS, PLATFORMS
from streaming.generator.user_agents import NORMAL_INDICES, NORMAL_WEIGHTS

N_SEGMENTS = len(GEOS) * len(PLATFORMS)


def user_hash(salt: str, user_key: str) -> str:
    """The specified pseudonymisation: first 16 hex of sha256(salt + key)."""
    return hashlib.sha256((salt + user_key).encode()).hexdigest()[:16]


class UserPool:
    """Hashes are computed on first use and cached, so start-up stays instant."""

    def __init__(
        self,
        salt: str,
        rng: np.random.Generator,
        pool_size: int = 10_000,
        zipf_exponent: float = 1.15,
        head_offset: float = 40.0,
    ) -> None:
        self._salt = salt
        self.pool_size = pool_size
        weights = (np.arange(pool_size) + head_offset) ** -zipf_exponent
        self._cdf = np.cumsum(weights / weights.sum())
        total = N_SEGMENTS * pool_size
        self._hashes: NDArray[np.object_] = np.empty(total, dtype=object)
        self._known = np.zeros(total, dtype=bool)
        self._ua = np.empty(total, dtype=np.int16)
        # A returning user keeps their browser: one UA per user, drawn once per platform share.
        platform_of_code = (np.arange(total) // pool_size) % len(PLATFORMS)
        for plat, (choices, probs) in enumerate(zip(NORMAL_INDICES, NORMAL_WEIGHTS, strict=True)):
            mask = platform_of_code == plat
            self._ua[mask] = rng.choice(choices, size=int(mask.sum()), p=probs)

    def sample(self, rng: np.random.Generator, segments: NDArray[np.int16]) -> NDArray[np.int64]:
        """User codes (segment * pool_size + rank) for one click per segment entry."""
        rank = np.searchsorted(self._cdf, rng.random(segments.size) * self._cdf[-1], side="right")
        rank = np.minimum(rank, self.pool_size - 1)
        codes: NDArray[np.int64] = segments.astype(np.int64) * self.pool_size + rank
        return codes

    def user_agents(self, codes: NDArray[np.int64]) -> NDArray[np.int16]:
        return self._ua[codes]

    def hashes(self, codes: NDArray[np.int64]) -> NDArray[np.object_]:
        fresh = np.unique(codes[~self._known[codes]])
        if fresh.size:
            self._hashes[fresh] = [self._hash_code(int(code)) for code in fresh]
            self._known[fresh] = True
        return self._hashes[codes]

    def hash_keys(self, keys: Iterable[str]) -> list[str]:
        """Hashes for users outside the organic pool (bot and emulator identities)."""
        return [user_hash(self._salt, key) for key in keys]

    def _hash_code(self, code: int) -> str:
        segment, rank = divmod(code, self.pool_size)
        geo, platform = divmod(segment, len(PLATFORMS))
        return user_hash(self._salt, f"user:{GEOS[geo]}:{PLATFORMS[platform]}:{rank}")
