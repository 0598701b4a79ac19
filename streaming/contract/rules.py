"""The click-event contract as arrow sees it: column types and one boolean expression over them,
both derived from `ClickEvent`'s fields and constraints.

A field type, constraint or validator this module does not know how to enforce raises
UnsupportedContract at import, so the model cannot change without the fast path noticing.
Where exact agreement with pydantic would take work, the expression is stricter, never looser:
floats must be finite, strings are checked after the fast path made sure the text is ASCII, the
timestamp must be the canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` (its calendar is checked separately,
streaming.timestamps.parse_canonical).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, get_args, get_origin

import annotated_types as at
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo
from pydantic.types import AllowInfNan, Strict

from streaming.contract.event import ClickEvent, UtcMillis
from streaming.timestamps import TIMESTAMP_PATTERN

Check = Callable[[Any], Any]  # a column (array or expression) -> a boolean of the same kind

_BOUNDS: Final = (
    (at.Ge, "ge", pc.greater_equal),
    (at.Le, "le", pc.less_equal),
    (at.Gt, "gt", pc.greater),
    (at.Lt, "lt", pc.less),
)


class UnsupportedContract(TypeError):
    """`ClickEvent` gained something the fast path cannot enforce: extend this module."""


def _compare(op: Callable[[Any, Any], Any], value: object, of: Check | None = None) -> Check:
    def check(col: Any) -> Any:
        return op(col if of is None else of(col), value)

    return check


def _regex(pattern: str) -> Check:
    def check(col: Any) -> Any:
        return pc.match_substring_regex(col, pattern)

    return check


def _member(allowed: Any) -> Check:
    def check(col: Any) -> Any:
        return pc.is_in(col, value_set=allowed)

    return check


def _bound(meta: object) -> Check | None:
    """NaN compares false with every bound, so a bounded float can never pass as NaN."""
    for kind, attr, op in _BOUNDS:
        if isinstance(meta, kind):
            return _compare(op, getattr(meta, attr))
    return None


def _string_checks(name: str, metadata: list[Any]) -> list[Check]:
    checks: list[Check] = []
    for meta in metadata:
        if isinstance(meta, at.MinLen):  # code points, as len(str) counts
            checks.append(_compare(pc.greater_equal, meta.min_length, pc.utf8_length))
        elif isinstance(meta, at.MaxLen):
            checks.append(_compare(pc.less_equal, meta.max_length, pc.utf8_length))
        elif set(getattr(meta, "__dict__", ())) == {"pattern"} and isinstance(meta.pattern, str):
            # RE2 and pydantic's Rust regex agree on `^`/`$` (whole text, no multiline)
            checks.append(_regex(meta.pattern))
        else:
            raise UnsupportedContract(f"{name}: string constraint {meta!r}")
    return checks


def _number_checks(name: str, metadata: list[Any]) -> list[Check]:
    checks: list[Check] = []
    for meta in metadata:
        bound = _bound(meta)
        if bound is not None:
            checks.append(bound)
        elif not isinstance(meta, Strict | AllowInfNan):  # arrow's types are at least as strict
            raise UnsupportedContract(f"{name}: numeric constraint {meta!r}")
    return checks


def field_rule(name: str, info: FieldInfo) -> tuple[Any, list[Check]]:
    """The arrow type a field is read as, and the checks its values must pass."""
    ann, metadata = info.annotation, list(info.metadata)
    if info.alias or info.validation_alias or not info.is_required():
        raise UnsupportedContract(f"{name}: aliases and defaults are not supported")
    if ann is AwareDatetime and metadata == list(get_args(UtcMillis)[1:]):
        return pa.string(), [_regex(TIMESTAMP_PATTERN)]
    if get_origin(ann) is Literal and not metadata:
        allowed = get_args(ann)
        if not all(isinstance(v, str) for v in allowed):
            raise UnsupportedContract(f"{name}: non-string literal {ann!r}")
        return pa.string(), [_member(pa.array(allowed, pa.string()))]
    if ann is str:
        return pa.string(), _string_checks(name, metadata)
    if ann is float:
        return pa.float64(), [pc.is_finite, *_number_checks(name, metadata)]
    if ann is int:
        return pa.int64(), _number_checks(name, metadata)
    raise UnsupportedContract(f"{name}: type {ann!r}")


def derive() -> tuple[Any, dict[str, list[Check]], str]:
    """(arrow schema, checks per field, the timestamp field) for ClickEvent."""
    decorators = ClickEvent.__pydantic_decorators__
    kinds = ("validators", "field_validators", "root_validators", "model_validators")
    if any(getattr(decorators, kind) for kind in kinds):
        raise UnsupportedContract("ClickEvent has validators of its own")
    if ClickEvent.model_config.get("extra") != "forbid":
        raise UnsupportedContract("ClickEvent must forbid extra fields")
    fields = {name: field_rule(name, info) for name, info in ClickEvent.model_fields.items()}
    (ts_field,) = [n for n, i in ClickEvent.model_fields.items() if i.annotation is AwareDatetime]
    schema = pa.schema([(name, typ) for name, (typ, _) in fields.items()])
    return schema, {name: checks for name, (_, checks) in fields.items()}, ts_field


SCHEMA, CHECKS, TIMESTAMP_FIELD = derive()
"""The contract's columns as arrow reads them (the timestamp as its canonical text)."""


def _all_checks() -> Any:
    terms = [check(pc.field(name)) for name, checks in CHECKS.items() for check in checks]
    expression = terms[0]
    for term in terms[1:]:
        expression = expression & term  # Kleene and: a null (missing) value never passes
    return expression


EXPRESSION: Final = _all_checks()
"""True for a row passing every check; null or false otherwise."""
