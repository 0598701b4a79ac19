"""Split a polled batch into contract-valid events and rejects destined for the DLQ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from streaming.contract import ContractError, parse_event, wire_records

MAX_EVENT_BYTES = 16 * 1024  # a click event is ~400 bytes; anything this big is not one


class KafkaRecord(Protocol):
    """The parts of a confluent_kafka.Message the sinks use (lets tests pass plain objects)."""

    def value(self) -> bytes | None: ...
    def key(self) -> bytes | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...


@dataclass(frozen=True)
class Accepted:
    """A contract-valid record: its exact bytes (what the stores keep) and its event time."""

    raw: bytes
    timestamp: datetime
    partition: int
    offset: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    raw: bytes
    key: bytes | None
    error: str
    fields: tuple[str, ...]
    partition: int
    offset: int


def split(messages: Sequence[KafkaRecord]) -> tuple[list[Accepted], list[Rejected]]:
    """Validate the batch in one pydantic-core call; fall back to one by one only when it
    holds a bad record, so the common all-good batch stays fast."""
    sized: list[tuple[KafkaRecord, bytes]] = []
    rejected: list[Rejected] = []
    for msg in messages:
        raw = msg.value() or b""
        if len(raw) > MAX_EVENT_BYTES:
            error = f"oversized record: {len(raw)} bytes > {MAX_EVENT_BYTES}"
            rejected.append(_reject(msg, raw, error, ()))
        elif not raw:
            rejected.append(_reject(msg, raw, "empty record", ()))
        else:
            sized.append((msg, raw))
    try:
        records = wire_records([raw for _, raw in sized])
        accepted = [_accept(msg, raw, rec) for (msg, raw), rec in zip(sized, records, strict=True)]
        return accepted, rejected
    except ContractError:
        pass
    accepted = []
    for msg, raw in sized:
        try:
            accepted.append(_accept(msg, raw, parse_event(raw).__dict__))
        except ContractError as err:
            rejected.append(_reject(msg, raw, str(err), err.fields))
    return accepted, rejected


def _accept(msg: KafkaRecord, raw: bytes, fields: dict[str, Any]) -> Accepted:
    return Accepted(raw, fields["timestamp"], msg.partition() or 0, msg.offset() or 0, fields)


def _reject(msg: KafkaRecord, raw: bytes, error: str, fields: tuple[str, ...]) -> Rejected:
    return Rejected(raw, msg.key(), error, fields, msg.partition() or 0, msg.offset() or 0)
