"""The feature row contract: what the Flink job writes to the `features` topic (key `geo|platform`)
and to PostgreSQL `feature_aggregates`, and what the Feast ingestor and the detector read.

One row per (geo, platform, 5-minute window sliding every minute). Timestamps are UTC with
milliseconds, like the click events.
"""

from __future__ import annotations

from typing import Final

import orjson
from pydantic import BaseModel, ConfigDict, Field

from streaming.contract import Geo, Platform, UtcMillis, format_timestamp

FEATURE_NAMES: Final[tuple[str, ...]] = (
    "ctr_avg",
    "bounce_rate_avg",
    "event_count",
    "cpc_avg",
    "conversion_rate",
    "unique_users",
    "events_per_user",
    "suspicious_ua_share",
)

# Case-insensitive substrings marking automation: headless browsers, emulators, crawlers. The
# Flink job counts a UA as suspicious when it contains any of them.
SUSPICIOUS_UA_MARKERS: Final[tuple[str, ...]] = (
    "headlesschrome",
    "phantomjs",
    "sdk_gphone",
    "android sdk built for",
    "emulator",
    "bot",
    "crawler",
    "spider",
)


class FeatureRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, title="FeatureRow")

    geo: Geo
    platform: Platform
    window_start: UtcMillis
    window_end: UtcMillis
    ctr_avg: float = Field(ge=0, le=1)
    bounce_rate_avg: float = Field(ge=0, le=1)
    event_count: int = Field(ge=1)
    cpc_avg: float = Field(ge=0)
    conversion_rate: float = Field(ge=0, le=1)
    unique_users: int = Field(ge=1)
    events_per_user: float = Field(ge=1)
    suspicious_ua_share: float = Field(ge=0, le=1, description="headless/emulator/bot UAs")

    @property
    def key(self) -> bytes:
        return f"{self.geo}|{self.platform}".encode()

    def to_json_bytes(self) -> bytes:
        data = self.__dict__.copy()
        data["window_start"] = format_timestamp(self.window_start)
        data["window_end"] = format_timestamp(self.window_end)
        return orjson.dumps(data)


def parse_feature_row(raw: bytes) -> FeatureRow:
    return FeatureRow.model_validate_json(raw)
