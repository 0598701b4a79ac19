"""Split a polled batch into contract-valid events (as columns) and rejects for the DLQ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from numpy.typing import NDArray

from streaming.contract import ContractError, format_timestamp, parse_event
from streaming.contract.fast import accept
from streaming.contract.rules import SCHEMA

MAX_EVENT_BYTES = 16 * 1024  # a click event is ~400 bytes; anything this big is not one
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class KafkaRecord(Protocol):
    """The parts of a confluent_kafka.Message the sinks use (lets tests pass plain objects)."""

    def value(self) -> bytes | None: ...
    def key(self) -> bytes | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...


@dataclass(frozen=True)
class Accepted:
    """Contract-valid records in consumption order, as columns: their exact bytes (what the
    lake keeps), their source position, event time and contract fields (what PostgreSQL
    gets, `table`, with contract_rules.SCHEMA)."""

    raw: list[bytes]
    partition: NDArray[np.int64]
    offset: NDArray[np.int64]
    ts_ms: NDArray[np.int64]
    table: Any

    def __len__(self) -> int:
        return len(self.raw)

    @staticmethod
    def empty() -> Accepted:
        none = np.zeros(0, np.int64)
        return Accepted([], none, none, none, SCHEMA.empty_table())

    @staticmethod
    def concat(parts: Sequence[Accepted]) -> Accepted:
        parts = [p for p in parts if len(p)]
        if len(parts) <= 1:
            return parts[0] if parts else Accepted.empty()
        return Accepted(
            [raw for p in parts for raw in p.raw],
            np.concatenate([p.partition for p in parts]),
            np.concatenate([p.offset for p in parts]),
            np.concatenate([p.ts_ms for p in parts]),
            pa.concat_tables([p.table for p in parts]),
        )

    def take(self, rows: NDArray[np.intp]) -> Accepted:
        raw = self.raw
        return Accepted(
            [raw[i] for i in rows.tolist()],
            self.partition[rows],
            self.offset[rows],
            self.ts_ms[rows],
            self.table.take(pa.array(rows)),
        )

    def without(self, partitions: set[int]) -> Accepted:
        if not partitions or not len(self):
            return self
        return self.take(np.flatnonzero(~np.isin(self.partition, list(partitions))))


@dataclass(frozen=True)
class Rejected:
    raw: bytes
    key: bytes | None
    error: str
    fields: tuple[str, ...]
    partition: int
    offset: int


@dataclass(frozen=True)
class Split:
    accepted: Accepted
    rejected: list[Rejected]
    last_offsets: dict[int, int]  # partition -> last offset polled (accepted or not)


def split(messages: Sequence[KafkaRecord]) -> Split:
    """Validate the batch as columns (streaming.contract.fast); records that path does not
    accept are validated one by one by pydantic, which may still accept them (a valid but
    non-canonical timestamp, non-ASCII text) or names the error for the DLQ. Per record only
    the message's three fields are read in Python; the rest is done on whole columns."""
    values = [msg.value() or b"" for msg in messages]
    all_partitions = np.fromiter((msg.partition() or 0 for msg in messages), np.int64, len(values))
    all_offsets = np.fromiter((msg.offset() or 0 for msg in messages), np.int64, len(values))
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    sized = (lengths > 0) & (lengths <= MAX_EVENT_BYTES)
    rejected: list[Rejected] = []
    for i in np.flatnonzero(~sized).tolist():
        raw = values[i]
        error = f"oversized record: {len(raw)} bytes > {MAX_EVENT_BYTES}" if raw else "empty record"
        rejected.append(
            Rejected(raw, messages[i].key(), error, (), int(all_partitions[i]), int(all_offsets[i]))
        )
    kept = np.flatnonzero(sized)
    every = kept.size == len(values)
    raws = values if every else [values[i] for i in kept.tolist()]
    partitions, offsets = (
        (all_partitions, all_offsets) if every else (all_partitions[kept], all_offsets[kept])
    )
    fast = accept(raws)
    rows, table, ts_ms = np.flatnonzero(fast.ok), fast.table, fast.ts_ms
    slow: list[tuple[int, dict[str, Any], int]] = []
    for i in np.flatnonzero(~fast.ok).tolist():
        try:
            slow.append((i, *_row(raws[i])))
        except ContractError as err:
            key = messages[int(kept[i])].key()
            rejected.append(
                Rejected(raws[i], key, str(err), err.fields, int(partitions[i]), int(offsets[i]))
            )
    if slow:  # merge back into consumption order
        rows = np.concatenate([rows, [i for i, _, _ in slow]]).astype(np.intp)
        table = pa.concat_tables([table, pa.Table.from_pylist([r for _, r, _ in slow], SCHEMA)])
        ts_ms = np.concatenate([ts_ms, [t for _, _, t in slow]]).astype(np.int64)
        order = np.argsort(rows, kind="stable")
        rows, table, ts_ms = rows[order], table.take(pa.array(order)), ts_ms[order]
    everything = rows.size == len(raws)
    accepted = Accepted(
        raws if everything else [raws[i] for i in rows.tolist()],
        partitions if everything else partitions[rows],
        offsets if everything else offsets[rows],
        ts_ms,
        table,
    )
    return Split(accepted, rejected, _last_offsets(all_partitions, all_offsets))


def _last_offsets(partitions: NDArray[np.int64], offsets: NDArray[np.int64]) -> dict[int, int]:
    """Partition -> the offset of its last record in the batch (accepted or not)."""
    if not partitions.size:
        return {}
    last = len(partitions) - 1 - np.unique(partitions[::-1], return_index=True)[1]
    return dict(zip(partitions[last].tolist(), offsets[last].tolist(), strict=True))


def _row(raw: bytes) -> tuple[dict[str, Any], int]:
    """pydantic's verdict on one record, as a row of the table and its event time."""
    fields = dict(parse_event(raw).__dict__)
    stamp: datetime = fields["timestamp"]
    fields["timestamp"] = format_timestamp(stamp)
    return fields, (stamp - _EPOCH) // timedelta(milliseconds=1)
