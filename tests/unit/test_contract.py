"""The click event contract: what is accepted, what is refused, and how refusals are named."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from streaming.contract import (
    GEOS,
    PLATFORMS,
    SCHEMA_PATH,
    ClickEvent,
    ContractError,
    check_wire,
    current_schema,
    parse_event,
    validate_many,
)
from streaming.contract.schema import main

VALID: dict[str, Any] = {
    "event_id": "0f8fad5bd9cb469fa16570867728950e",
    "timestamp": "2024-01-15T10:30:00.000Z",
    "user_id_hash": "a1b2c3d4e5f67890",
    "ad_id": "ad_1234",
    "campaign_id": "camp_567",
    "geo": "US",
    "platform": "web",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0",
    "CPC": 0.75,
    "CTR": 0.025,
    "conversion": 0,
    "bounce_rate": 0.45,
}


def raw(**changes: Any) -> bytes:
    return orjson.dumps({**VALID, **changes})


def test_valid_event_round_trips_through_wire_bytes() -> None:
    event = parse_event(raw())
    wire = event.to_json_bytes()
    assert orjson.loads(wire) == VALID
    assert parse_event(wire) == event
    assert event.timestamp == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def test_wire_keys_are_the_seed_schema_keys() -> None:
    keys = list(orjson.loads(parse_event(raw()).to_json_bytes()))
    assert keys == list(VALID)
    assert "CPC" in keys and "CTR" in keys


def test_geos_and_platforms_are_the_seed_lists() -> None:
    assert len(GEOS) == len(set(GEOS)) == 36
    assert GEOS[:4] == ("US", "IN", "BR", "DE") and GEOS[-1] == "CY"
    assert PLATFORMS == ("web", "ios", "android")


def test_timestamp_serializes_with_milliseconds_and_z() -> None:
    event = parse_event(raw(timestamp="2024-01-15T10:30:00.123456+00:00"))
    assert orjson.loads(event.to_json_bytes())["timestamp"] == "2024-01-15T10:30:00.123Z"
    assert event.model_dump(mode="json")["timestamp"] == "2024-01-15T10:30:00.123Z"


def test_non_utc_timestamp_is_normalized_to_utc() -> None:
    plus_two = datetime(2024, 1, 15, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    event = ClickEvent.model_validate({**VALID, "timestamp": plus_two})
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.timestamp == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert orjson.loads(event.to_json_bytes())["timestamp"] == "2024-01-15T10:30:00.000Z"


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        ClickEvent.model_validate({**VALID, "timestamp": datetime(2024, 1, 15, 10, 30)})
    with pytest.raises(ContractError) as err:
        parse_event(raw(timestamp="2024-01-15T10:30:00"))
    assert err.value.fields == ("timestamp",)


BAD_VALUES = [
    ("event_id", "xyz"),
    ("event_id", "0F8FAD5BD9CB469FA16570867728950E"),
    ("event_id", "0f8fad5bd9cb469fa16570867728950"),
    ("timestamp", "yesterday"),
    ("user_id_hash", "a1b2c3d4e5f6789"),
    ("user_id_hash", "A1B2C3D4E5F67890"),
    ("ad_id", "ad_123"),
    ("ad_id", "ad_12345"),
    ("ad_id", "AD_1234"),
    ("campaign_id", "camp_12"),
    ("campaign_id", "campaign_123"),
    ("geo", "XX"),
    ("geo", "us"),
    ("geo", "GB"),
    ("platform", "windows"),
    ("user_agent", ""),
    ("user_agent", "x" * 513),
    ("CPC", 0.09),
    ("CPC", 1.21),
    ("CPC", "cheap"),
    ("CPC", "0.5"),
    ("CTR", 0.0049),
    ("CTR", 0.051),
    ("conversion", 2),
    ("conversion", -1),
    ("conversion", 0.5),
    ("conversion", True),
    ("conversion", "1"),
    ("bounce_rate", 0.19),
    ("bounce_rate", 0.91),
    ("bounce_rate", None),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_bad_value_is_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ContractError) as err:
        parse_event(raw(**{field: value}))
    assert err.value.fields == (field,)
    assert field in str(err.value)
    with pytest.raises(ValidationError, match=field):
        ClickEvent.model_validate({**VALID, field: value})
    with pytest.raises(ContractError) as batch_err:
        check_wire([raw(), raw(**{field: value})])
    assert batch_err.value.fields == (field,)
    assert f"record 1: {field}" in str(batch_err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CPC", 0.10),
        ("CPC", 1.20),
        ("CTR", 0.005),
        ("CTR", 0.05),
        ("bounce_rate", 0.20),
        ("bounce_rate", 0.90),
        ("conversion", 1),
        ("user_agent", "x" * 512),
    ],
)
def test_boundary_values_are_accepted(field: str, value: Any) -> None:
    assert getattr(parse_event(raw(**{field: value})), field) == value
    assert check_wire([raw(**{field: value})]) == 1


@pytest.mark.parametrize("field", ["CPC", "CTR", "bounce_rate"])
def test_nan_is_rejected(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ClickEvent.model_validate({**VALID, field: math.nan})


def test_not_json_is_a_contract_error_without_fields() -> None:
    with pytest.raises(ContractError, match="not JSON") as err:
        parse_event(b'{"event_id": ')
    assert err.value.fields == ()
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_non_object_json_is_a_contract_error(payload: bytes) -> None:
    with pytest.raises(ContractError, match="not a JSON object"):
        parse_event(payload)


def test_missing_field_is_named() -> None:
    data = dict(VALID)
    del data["geo"]
    with pytest.raises(ContractError, match="geo: field required") as err:
        parse_event(orjson.dumps(data))
    assert err.value.fields == ("geo",)


def test_several_bad_fields_are_all_named() -> None:
    with pytest.raises(ContractError) as err:
        parse_event(raw(CPC=9.0, geo="XX"))
    assert set(err.value.fields) == {"CPC", "geo"}


def test_extra_field_is_rejected() -> None:
    with pytest.raises(ContractError, match="is_fraud") as err:
        parse_event(raw(is_fraud=True))
    assert err.value.fields == ("is_fraud",)
    with pytest.raises(ContractError, match="record 0: is_fraud"):
        check_wire([raw(is_fraud=True)])


def test_wire_check_refuses_missing_fields_and_naive_timestamps() -> None:
    data = dict(VALID)
    del data["user_agent"]
    with pytest.raises(ContractError, match="user_agent: field required"):
        check_wire([orjson.dumps(data)])
    with pytest.raises(ContractError, match="timestamp"):
        check_wire([raw(timestamp="2024-01-15T10:30:00")])
    assert check_wire([]) == 0


def test_events_are_immutable() -> None:
    event = parse_event(raw())
    with pytest.raises(ValidationError):
        event.CPC = 1.0  # type: ignore[misc]


def test_validate_many_accepts_bytes_and_dicts() -> None:
    values = [raw(ad_id=f"ad_{i:04d}") for i in range(50)]
    events = validate_many(values)
    assert [e.ad_id for e in events] == [f"ad_{i:04d}" for i in range(50)]
    assert validate_many([orjson.loads(v) for v in values]) == events
    assert validate_many([]) == []


def test_wire_check_counts_records_across_chunks() -> None:
    values = [raw() for _ in range(25)]
    assert check_wire(values, chunk=10) == 25
    values[23] = raw(geo="XX")
    with pytest.raises(ContractError, match="record 23: geo") as err:
        check_wire(values, chunk=10)
    assert err.value.fields == ("geo",)


def test_validate_many_names_record_and_field() -> None:
    values = [raw() for _ in range(10)]
    values[7] = raw(CTR=0.5)
    with pytest.raises(ContractError, match="record 7: CTR") as err:
        validate_many(values)
    assert err.value.fields == ("CTR",)
    with pytest.raises(ContractError, match="record 7: CTR"):
        validate_many([orjson.loads(v) for v in values])


@pytest.mark.parametrize("broken", [b'{"event_id": ', b"{}, {}", b"1], [2"])
def test_validate_many_locates_a_record_that_is_not_one_document(broken: bytes) -> None:
    values = [raw() for _ in range(5)]
    values[3] = broken
    with pytest.raises(ContractError, match="record 3"):
        validate_many(values)
    with pytest.raises(ContractError, match="record 3"):
        check_wire(values)


def test_committed_schema_matches_the_model() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == current_schema()
    assert committed["additionalProperties"] is False
    assert set(committed["required"]) == set(VALID)


def test_write_schema_command_regenerates_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schemas" / "click_event.schema.json"
    monkeypatch.setattr("streaming.contract.schema.SCHEMA_PATH", target)
    main(["--write-schema"])
    assert str(target) in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == SCHEMA_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize("ua", ["nul\x00byte", "tab\there", "bell\x07", "del\x7f"])
def test_control_characters_in_the_user_agent_are_refused(ua: str) -> None:
    """PostgreSQL text cannot hold NUL: a record that the DB sink could never store is a
    contract violation for the DLQ, not a batch that retries forever."""
    event = {**VALID, "user_agent": ua}
    with pytest.raises(ContractError, match="user_agent"):
        parse_event(orjson.dumps(event))
