"""The clickstream event contract shared by the generator, every sink and the Flink job.

The JSON keys (`CPC`, `CTR` in capitals included) are the wire format the product was first
specified with (README, "Data"), so the Python attribute names equal them and no alias can drift
from the wire format.

Numbers are strict (a quoted "0.5" or a boolean conversion is a producer bug, not data).

Timestamps: naive datetimes are rejected (a producer that forgot its time zone is a bug we
want to see), aware ones are normalized to UTC and truncated to milliseconds, because the wire
format carries exactly milliseconds and a parsed event must equal the one that was sent.

`python -m streaming.contract --write-schema` regenerates the committed JSON Schema.

The package has no import circle: `event` (the model) ← `rules` (arrow checks derived from the
model) ← `fast` (the columnar path) ← `validate` (batch checks: fast path, then pydantic) ←
`schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Final, Literal, get_args

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

Geo = Literal[
    "US",
    "IN",
    "BR",
    "DE",
    "JP",
    "CA",
    "AU",
    "UK",
    "FR",
    "IT",
    "ES",
    "NL",
    "SE",
    "NO",
    "DK",
    "FI",
    "CH",
    "AT",
    "BE",
    "IE",
    "PT",
    "GR",
    "PL",
    "CZ",
    "HU",
    "RO",
    "BG",
    "HR",
    "SI",
    "SK",
    "LT",
    "LV",
    "EE",
    "LU",
    "MT",
    "CY",
]
Platform = Literal["web", "ios", "android"]

GEOS: Final[tuple[str, ...]] = get_args(Geo)
PLATFORMS: Final[tuple[str, ...]] = get_args(Platform)
CPC_RANGE: Final = (0.10, 1.20)
CTR_RANGE: Final = (0.005, 0.05)
BOUNCE_RANGE: Final = (0.20, 0.90)
USER_AGENT_MAX_LEN: Final = 512


def format_timestamp(value: datetime) -> str:
    """ISO-8601 with exactly three fractional digits, which Flink's SQL parser expects."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _utc_milliseconds(value: datetime) -> datetime:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    extra_us = value.microsecond % 1000
    return value.replace(microsecond=value.microsecond - extra_us) if extra_us else value


UtcMillis = Annotated[
    AwareDatetime,
    AfterValidator(_utc_milliseconds),
    PlainSerializer(format_timestamp, return_type=str),
]
"""Aware datetime normalized to UTC at millisecond precision; serialized as `...T..:..:...mmmZ`."""


class ContractError(ValueError):
    """Bytes that are not a valid click event; `fields` lets a DLQ record say which ones."""

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields: tuple[str, ...] = tuple(fields)


class ClickEvent(BaseModel):
    """One ad click as it travels on the `clickstream` topic."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ClickEvent")

    event_id: str = Field(
        pattern=r"^[0-9a-f]{32}$", description="32 lowercase hex; the sinks' idempotency key"
    )
    timestamp: UtcMillis = Field(description="UTC, ISO-8601 with milliseconds and Z")
    user_id_hash: str = Field(
        pattern=r"^[0-9a-f]{16}$", description="first 16 hex of sha256(salt + user key)"
    )
    ad_id: str = Field(pattern=r"^ad_[0-9]{4}$")
    campaign_id: str = Field(pattern=r"^camp_[0-9]{3}$")
    geo: Geo
    platform: Platform
    user_agent: str = Field(
        min_length=1,
        max_length=USER_AGENT_MAX_LEN,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="no control characters (PostgreSQL text cannot hold NUL)",
    )
    CPC: float = Field(ge=CPC_RANGE[0], le=CPC_RANGE[1], strict=True, allow_inf_nan=False)
    CTR: float = Field(ge=CTR_RANGE[0], le=CTR_RANGE[1], strict=True, allow_inf_nan=False)
    conversion: int = Field(ge=0, le=1, strict=True)
    bounce_rate: float = Field(
        ge=BOUNCE_RANGE[0], le=BOUNCE_RANGE[1], strict=True, allow_inf_nan=False
    )

    def to_json_bytes(self) -> bytes:
        """Wire bytes; orjson because the producer serializes tens of thousands per second."""
        data = self.__dict__.copy()
        data["timestamp"] = format_timestamp(self.timestamp)
        return orjson.dumps(data)


def _contract_error(exc: ValidationError, *, first_index: int | None = None) -> ContractError:
    """Turn pydantic's error list into one line per problem, each naming its field (and, for a
    batch starting at `first_index`, the record's position)."""
    fields: list[str] = []
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        where = ""
        if first_index is not None and loc:
            where = f"record {int(loc.pop(0)) + first_index}: "
        if err["type"] == "json_invalid":
            problems.append(f"not JSON: {err['msg']}")
        elif not loc:
            problems.append(f"{where}not a JSON object")
        else:
            fields.append(loc[-1])
            detail = "field required" if err["type"] == "missing" else err["msg"]
            problems.append(f"{where}{loc[-1]}: {detail}")
    return ContractError("invalid click event: " + "; ".join(problems), list(dict.fromkeys(fields)))


def parse_event(raw: bytes | str) -> ClickEvent:
    """Validate one wire record; every failure becomes a ContractError for the DLQ."""
    try:
        return ClickEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise _contract_error(exc) from None
