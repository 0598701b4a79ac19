"""Records of the `features` topic → FeatureRows (or DLQ rejects) → the frame pushed to Feast.

Only the newest window per (geo, platform) of a batch is pushed: the online store keeps one value
per entity, and Feast's Redis store already refuses rows older than the stored one, so dropping
the older windows of a batch changes nothing but the write volume (a backlog of sliding windows
collapses to at most 108 Redis writes per batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError

from streaming.feature_contract import FEATURE_NAMES, FeatureRow, parse_feature_row
from streaming.sinks.records import KafkaRecord, Rejected

MAX_ROW_BYTES = 16 * 1024  # a feature row is ~350 bytes; anything this big is not one
INT_FEATURES = frozenset({"event_count", "unique_users"})


@dataclass(frozen=True)
class Parsed:
    row: FeatureRow
    partition: int
    offset: int


def _reject(msg: KafkaRecord, raw: bytes, error: str, fields: tuple[str, ...]) -> Rejected:
    return Rejected(raw, msg.key(), error, fields, msg.partition() or 0, msg.offset() or 0)


def _describe(exc: ValidationError) -> tuple[str, tuple[str, ...]]:
    errors = exc.errors()
    fields = tuple(sorted({str(e["loc"][0]) for e in errors if e["loc"]}))
    text = "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in errors)
    return f"not a FeatureRow: {text}", fields


def parse_records(messages: Sequence[KafkaRecord]) -> tuple[list[Parsed], list[Rejected]]:
    """Validate each record against the FeatureRow contract; a bad one becomes a reject naming
    its fields, never an exception that would stop the stream."""
    parsed: list[Parsed] = []
    rejected: list[Rejected] = []
    for msg in messages:
        raw = msg.value() or b""
        if not raw:
            rejected.append(_reject(msg, raw, "empty record", ()))
        elif len(raw) > MAX_ROW_BYTES:
            rejected.append(_reject(msg, raw, f"oversized record: {len(raw)} bytes", ()))
        else:
            try:
                row = parse_feature_row(raw)
            except ValidationError as exc:
                rejected.append(_reject(msg, raw, *_describe(exc)))
                continue
            parsed.append(Parsed(row, msg.partition() or 0, msg.offset() or 0))
    return parsed, rejected


def latest_per_entity(rows: Sequence[FeatureRow]) -> list[FeatureRow]:
    latest: dict[tuple[str, str], FeatureRow] = {}
    for row in rows:
        key = (row.geo, row.platform)
        kept = latest.get(key)
        if kept is None or row.window_end >= kept.window_end:
            latest[key] = row
    return list(latest.values())


def push_frame(rows: Sequence[FeatureRow]) -> pd.DataFrame:
    """Columns and dtypes of the feature view (float32/int64), `window_end` as event time."""
    data: dict[str, object] = {
        "geo": [r.geo for r in rows],
        "platform": [r.platform for r in rows],
        "window_end": pd.to_datetime([r.window_end for r in rows], utc=True),
    }
    for name in FEATURE_NAMES:
        dtype = np.int64 if name in INT_FEATURES else np.float32
        data[name] = np.array([getattr(r, name) for r in rows], dtype=dtype)
    return pd.DataFrame(data)
