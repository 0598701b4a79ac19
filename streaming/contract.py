"""The clickstream event contract shared by the generator, every sink and the Flink job.

The JSON keys (`CPC`, `CTR` in capitals included) are the seed product's, so the Python
attribute names equal them and no alias can drift from the wire format.

Timestamps: naive datetimes are rejected (a producer that forgot its time zone is a bug we
want to see), aware ones are normalized to UTC and truncated to milliseconds, because the wire
format carries exactly milliseconds and a parsed event must equal the one that was sent.

`python -m streaming.contract --write-schema` regenerates the committed JSON Schema.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
)

Geo = Literal[
    "US", "IN", "BR", "DE", "JP", "CA", "AU", "UK", "FR", "IT", "ES", "NL",
    "SE", "NO", "DK", "FI", "CH", "AT", "BE", "IE", "PT", "GR", "PL", "CZ",
    "HU", "RO", "BG", "HR", "SI", "SK", "LT", "LV", "EE", "LU", "MT", "CY",
]  # fmt: skip
Platform = Literal["web", "ios", "android"]

GEOS: Final[tuple[str, ...]] = get_args(Geo)
PLATFORMS: Final[tuple[str, ...]] = get_args(Platform)
CPC_RANGE: Final = (0.10, 1.20)
CTR_RANGE: Final = (0.005, 0.05)
BOUNCE_RANGE: Final = (0.20, 0.90)
USER_AGENT_MAX_LEN: Final = 512

SCHEMA_PATH: Final = Path(__file__).resolve().parent / "schemas" / "click_event.schema.json"


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
    user_agent: str = Field(min_length=1, max_length=USER_AGENT_MAX_LEN)
    CPC: float = Field(ge=CPC_RANGE[0], le=CPC_RANGE[1], allow_inf_nan=False)
    CTR: float = Field(ge=CTR_RANGE[0], le=CTR_RANGE[1], allow_inf_nan=False)
    conversion: Literal[0, 1]
    bounce_rate: float = Field(ge=BOUNCE_RANGE[0], le=BOUNCE_RANGE[1], allow_inf_nan=False)

    def to_json_bytes(self) -> bytes:
        """Wire bytes; orjson because the producer serializes tens of thousands per second."""
        data = self.__dict__.copy()
        data["timestamp"] = format_timestamp(self.timestamp)
        return orjson.dumps(data)


def _contract_error(exc: ValidationError, *, batch: bool = False) -> ContractError:
    """Turn pydantic's error list into one line per problem, each naming its field."""
    fields: list[str] = []
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        where = f"record {loc.pop(0)}: " if batch and loc else ""
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


_MANY: Final = TypeAdapter(list[ClickEvent])


def validate_many(records: Sequence[dict[str, Any]] | Sequence[bytes]) -> list[ClickEvent]:
    """Validate a whole batch in one call into pydantic-core, which avoids per-record overhead.

    Accepts dicts or wire bytes; bytes are validated exactly as they will be sent. The error
    names the record's position in the batch and the field.
    """
    if not records:
        return []
    if not isinstance(records[0], bytes | bytearray):
        try:
            return _MANY.validate_python(records)
        except ValidationError as exc:
            raise _contract_error(exc, batch=True) from None
    raws: Sequence[bytes] = records  # type: ignore[assignment]
    try:
        events = _MANY.validate_json(b"[" + b",".join(raws) + b"]")
    except ValidationError as exc:
        if not any(err["type"] == "json_invalid" for err in exc.errors()):
            raise _contract_error(exc, batch=True) from None
        events = []
    if len(events) != len(raws):
        # A record that is not one JSON document breaks the joined array; find it.
        for index, raw in enumerate(raws):
            try:
                parse_event(raw)
            except ContractError as err:
                raise ContractError(f"record {index}: {err}", err.fields) from None
        raise ContractError("records do not split into one JSON document each")
    return events


def current_schema() -> dict[str, Any]:
    """The schema other languages (Flink SQL DDL, the lake readers) are checked against."""
    return ClickEvent.model_json_schema()


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current_schema(), indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streaming.contract")
    parser.add_argument("--write-schema", action="store_true", help=f"write {SCHEMA_PATH.name}")
    args = parser.parse_args(argv)
    if args.write_schema:
        print(f"wrote {write_schema()}")
    else:
        print(json.dumps(current_schema(), indent=2))


if __name__ == "__main__":
    main()
