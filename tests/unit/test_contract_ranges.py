"""The CTR/CPC/bounce ranges live in streaming/contract; the table's CHECK constraints, written
once in a migration that must never change, are held to them here."""

from __future__ import annotations

import re

import pytest

from streaming.contract import BOUNCE_RANGE, CPC_RANGE, CTR_RANGE
from streaming.settings import PROJECT_ROOT

MIGRATION = PROJECT_ROOT / "infra" / "migrations" / "0001_clickstream_events.sql"


@pytest.mark.parametrize(
    ("column", "bounds"), [("cpc", CPC_RANGE), ("ctr", CTR_RANGE), ("bounce_rate", BOUNCE_RANGE)]
)
def test_clickstream_checks_equal_the_contract(column: str, bounds: tuple[float, float]) -> None:
    pattern = rf"CHECK \({column} BETWEEN ([0-9.]+) AND ([0-9.]+)\)"
    found = re.findall(pattern, MIGRATION.read_text())
    assert len(found) == 1, f"{MIGRATION.name}: no single CHECK on {column}"
    assert tuple(float(v) for v in found[0]) == bounds
