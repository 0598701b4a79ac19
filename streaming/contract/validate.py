"""Batch validation of wire records: the columnar fast path first, pydantic for the rest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final, cast

import numpy as np
from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from streaming.contract.event import ClickEvent, ContractError, _contract_error, parse_event
from streaming.contract.fast import Parsed, accept, parse
from streaming.wire_lines import Lines

_MANY: Final = TypeAdapter(list[ClickEvent])


def _wire_adapter() -> TypeAdapter[list[Any]]:
    """The model's own field annotations, constraints included, as a TypedDict: validating into
    plain dicts skips building model instances (~1.4x faster) under exactly the same rules."""
    annotations = {
        name: Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        for name, info in ClickEvent.model_fields.items()
    }
    record = cast(Any, TypedDict)("ClickEventWire", annotations)
    record.__pydantic_config__ = ConfigDict(extra="forbid")
    return TypeAdapter(cast(Any, list)[record])


_WIRE: Final = _wire_adapter()


def validate_many(records: Sequence[dict[str, Any]] | Sequence[bytes]) -> list[ClickEvent]:
    """Validate a batch in one call into pydantic-core, avoiding per-record Python overhead.

    Accepts dicts or wire bytes. The error names the record's index and the field.
    """
    if not records:
        return []
    if isinstance(records[0], bytes | bytearray):
        return _validate_joined(_MANY, records)  # type: ignore[arg-type]
    try:
        return _MANY.validate_python(records)
    except ValidationError as exc:
        raise _contract_error(exc, first_index=0) from None


FAST_MIN: Final = 512


def check_wire(values: Sequence[bytes] | Lines | Parsed, chunk: int = 16_384) -> int:
    """The producer's check: every value, exactly as it will be sent, against the contract.
    Returns the count; raises a ContractError naming the first bad record and its fields.

    Batches from FAST_MIN values on go through the columnar fast path (streaming.contract.fast),
    which accepts only what the model accepts; whatever it leaves is validated here by pydantic,
    the final word. (Below FAST_MIN, pydantic alone is cheaper than the arrow calls' fixed
    cost.) A batch the fast path has parsed already (`contract_fast.parse`, e.g. on another
    thread) is checked as it is.
    """
    if not isinstance(values, Parsed) and len(values) < FAST_MIN:
        part = values.values() if isinstance(values, Lines) else values
        return len(_validate_joined(_WIRE, part)) if part else 0
    parts: Iterable[tuple[int, Parsed]] = (
        [(0, values)]
        if isinstance(values, Parsed)
        else ((s, parse(values[s : s + chunk])) for s in range(0, len(values), chunk))
    )
    for start, parsed in parts:
        for index in np.flatnonzero(~accept(parsed).ok).tolist():
            _validate_joined(_WIRE, [parsed.source.value(index)], first_index=start + index)
    return len(values.source) if isinstance(values, Parsed) else len(values)


def wire_records(values: Sequence[bytes], chunk: int = 8192) -> list[dict[str, Any]]:
    """Validate wire values like `check_wire` and return them as plain dicts (timestamp as an
    aware datetime): what sinks need to route records, at a fraction of a model's cost."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(values), chunk):
        out.extend(_validate_joined(_WIRE, values[start : start + chunk], first_index=start))
    return out


def _validate_joined(
    adapter: TypeAdapter[list[Any]], values: Sequence[bytes], first_index: int = 0
) -> list[Any]:
    """One JSON array for the whole batch; this assumes each value is one JSON object (as
    serializer output is) and falls back to locating the value that is not."""
    try:
        result = adapter.validate_json(b"[" + b",".join(values) + b"]")
    except ValidationError as exc:
        if not any(err["type"] == "json_invalid" for err in exc.errors()):
            raise _contract_error(exc, first_index=first_index) from None
        result = []
    if len(result) != len(values):
        for index, raw in enumerate(values, start=first_index):
            try:
                parse_event(raw)
            except ContractError as err:
                raise ContractError(f"record {index}: {err}", err.fields) from None
        raise ContractError("records do not split into one JSON document each")
    return result
