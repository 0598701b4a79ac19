"""The click-event contract checked on a generated batch's columns, before they become bytes.

The producer used to read every generated batch's JSON back (the contract's columnar fast path)
to check it: a quarter of the load generator's CPU (py-spy at 12,000 events/s). The bytes are a
function of the columns (streaming.generator.encode, tested byte-identical to the model's own
serializer), so the columns can be checked instead, with the model's own rules
(streaming.contract.rules, derived from ClickEvent): numbers per row, the per-row user hash per
row, and text that comes from a fixed table (ads, campaigns, segments, user agents) once per
table entry. Ids are 16 bytes written as 32 hex digits and timestamps canonical text of a
millisecond count, so neither can break their rules within the range checked here.

Like the fast path, this only ever *accepts*: a batch it does not wholly accept is validated
from its bytes by `check_wire`, whose verdict (and error, naming the record and field) is final.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from numpy.typing import NDArray

from streaming.contract.rules import CHECKS, SCHEMA
from streaming.timestamps import YEARS

# epoch milliseconds of YEARS: inside it `format_canonical` writes the canonical text
TS_RANGE: Final = (
    int((np.datetime64(f"{YEARS[0]}-01-01", "ms") - np.datetime64(0, "ms")).astype(np.int64)),
    int((np.datetime64(f"{YEARS[1] + 1}-01-01", "ms") - np.datetime64(0, "ms")).astype(np.int64))
    - 1,
)


def passes(field: str, values: Any) -> NDArray[np.bool_]:
    """Per value: whether it passes every rule the model has for `field` (a missing or
    unconvertible value does not)."""
    column = pa.array(values, SCHEMA.field(field).type)
    ok = pa.array(np.ones(len(column), dtype=bool))
    for check in CHECKS[field]:
        ok = pc.and_kleene(ok, check(column))
    result: NDArray[np.bool_] = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
    return result


def all_pass(columns: dict[str, Any]) -> bool:
    """Whether every row passes every rule the model has for each field of `columns` (field ->
    values, one per row), evaluated as one compute expression: one call per batch, not one
    per rule (their fixed cost dominates on a live tick of a few hundred events)."""
    table = pa.table({f: pa.array(v, SCHEMA.field(f).type) for f, v in columns.items()})
    return bool(table.filter(_expression(tuple(columns))).num_rows == table.num_rows)


@functools.cache
def _expression(fields: tuple[str, ...]) -> Any:
    terms = [check(pc.field(f)) for f in fields for check in CHECKS[f]]
    expression = terms[0]
    for term in terms[1:]:
        expression = expression & term  # Kleene and: a null never passes the filter
    return expression


def table_passes(field: str, strings: Any) -> NDArray[np.bool_]:
    """`passes` for a table of text a column indexes into, judged once per entry."""
    return passes(field, [str(s) for s in strings])


def in_range(values: NDArray[Any], low: float, high: float) -> bool:
    return bool(values.size == 0 or (values.min() >= low and values.max() <= high))
