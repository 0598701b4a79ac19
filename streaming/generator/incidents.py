"""Fraud ground truth: which scenario ran where and when.

Labels travel separately from the events (labels topic / fraud_labels table) so a detector can
never read the answer from the data it scores. The schedule of a UTC day depends only on the
seed and the day, so live mode, history mode and any chunking of a range agree on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Self

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from streaming.contract import GEOS, PLATFORMS, Geo, Platform, UtcMillis, format_timestamp
from streaming.generator.catalog import CAMPAIGN_NAMES, Catalog
from streaming.generator.timebase import MS_PER_DAY, MS_PER_MINUTE, MS_PER_SECOND, from_ms, to_ms


class FraudType(StrEnum):
    BOT_CLICK_FLOOD = "bot_click_flood"
    CTR_INFLATION = "ctr_inflation"
    CPC_MANIPULATION = "cpc_manipulation"
    EMULATOR_BURST = "emulator_burst"
    CONVERSION_DROUGHT = "conversion_drought"


# Small markets where a sudden burst of device traffic stands out.
UNUSUAL_GEOS: tuple[str, ...] = ("MT", "CY", "LU", "EE", "LV", "LT", "SI", "SK", "HR", "BG")
_CAMPAIGN_SCOPED = {FraudType.BOT_CLICK_FLOOD, FraudType.CTR_INFLATION, FraudType.EMULATOR_BURST}


class FraudIncident(BaseModel):
    """One labelled incident; `end` is exclusive, like the windows that should catch it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^inc-[0-9]{8}-[0-9]{2,}-[0-9a-f]{6}$")
    type: FraudType
    geo: Geo
    platform: Platform
    campaign_id: str | None = Field(default=None, pattern=r"^camp_[0-9]{3}$")
    start: UtcMillis
    end: UtcMillis
    intensity: float = Field(ge=0.0, le=1.0, description="0 = barely visible, 1 = blatant")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_ms(self.end)

    def overlaps(self, start_ms: int, end_ms: int) -> bool:
        return self.start_ms < end_ms and start_ms < self.end_ms

    def to_json_bytes(self) -> bytes:
        data = self.model_dump(mode="python")
        data["start"] = format_timestamp(self.start)
        data["end"] = format_timestamp(self.end)
        return orjson.dumps(data)


class IncidentScheduler:
    """Poisson number of incidents per UTC day, each 10-40 minutes by default: long enough for
    several 5-minute windows sliding every minute to overlap it."""

    def __init__(
        self,
        seed: int,
        catalog: Catalog,
        incidents_per_day: float = 4.0,
        duration_minutes: tuple[float, float] = (10.0, 40.0),
        types: Sequence[FraudType] = tuple(FraudType),
    ) -> None:
        if incidents_per_day < 0:
            raise ValueError("incidents_per_day must be >= 0")
        self._seed = seed
        self._catalog = catalog
        self.incidents_per_day = incidents_per_day
        low, high = duration_minutes
        if not 0 < low <= high:
            raise ValueError("duration_minutes must be (low, high) with 0 < low <= high")
        self._duration_ms = (low * MS_PER_MINUTE, high * MS_PER_MINUTE)
        self._types = tuple(types)
        self._days: dict[int, tuple[FraudIncident, ...]] = {}

    def incidents_between(self, start_ms: int, end_ms: int) -> list[FraudIncident]:
        """Incidents overlapping [start, end), including those begun the day before."""
        first_day = (start_ms - int(self._duration_ms[1])) // MS_PER_DAY
        last_day = (end_ms - 1) // MS_PER_DAY
        found = [
            inc
            for day in range(first_day, last_day + 1)
            for inc in self._day(day)
            if inc.overlaps(start_ms, end_ms)
        ]
        return sorted(found, key=lambda inc: (inc.start, inc.id))

    def _day(self, day: int) -> tuple[FraudIncident, ...]:
        if day not in self._days:
            if len(self._days) > 64:
                self._days.clear()
            self._days[day] = self._draw_day(day)
        return self._days[day]

    def _draw_day(self, day: int) -> tuple[FraudIncident, ...]:
        if self.incidents_per_day == 0 or not self._types:
            return ()
        rng = np.random.default_rng([self._seed, 0x1AC1DE, day])
        count = int(rng.poisson(self.incidents_per_day))
        starts = np.sort(rng.integers(0, MS_PER_DAY // MS_PER_SECOND, count)) * MS_PER_SECOND
        label = from_ms(day * MS_PER_DAY).strftime("%Y%m%d")
        return tuple(
            self._draw_one(rng, f"inc-{label}-{k:02d}-{rng.bytes(3).hex()}", day * MS_PER_DAY + s)
            for k, s in enumerate(starts.tolist())
        )

    def _draw_one(self, rng: np.random.Generator, incident_id: str, start_ms: int) -> FraudIncident:
        kind = self._types[int(rng.integers(len(self._types)))]
        duration = int(rng.uniform(*self._duration_ms)) // MS_PER_SECOND * MS_PER_SECOND
        if kind is FraudType.EMULATOR_BURST:
            geo = UNUSUAL_GEOS[int(rng.integers(len(UNUSUAL_GEOS)))]
            platform = ("web", "android")[int(rng.integers(2))]
        else:
            geo = GEOS[int(rng.integers(len(GEOS)))]
            platform = PLATFORMS[int(rng.choice(len(PLATFORMS), p=[0.4, 0.3, 0.3]))]
        campaign = None
        if kind in _CAMPAIGN_SCOPED:
            campaign = str(CAMPAIGN_NAMES[int(self._catalog.sample_campaigns(rng, 1)[0])])
        return FraudIncident(
            id=incident_id,
            type=kind,
            geo=geo,
            platform=platform,
            campaign_id=campaign,
            start=from_ms(start_ms),
            end=from_ms(start_ms + duration),
            intensity=round(float(rng.uniform(0.5, 1.0)), 2),
        )
