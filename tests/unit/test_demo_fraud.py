"""The demo's fraud plan (every scenario, distinct segments, time to catch the last one) and its
summary's refusal to show zero incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adnomaly_ops.demo_fraud import (
    CATCH,
    LEAD,
    MIN_SECONDS,
    ScriptedIncidents,
    caught_table,
    plan_incidents,
)
from streaming.generator import FraudType, TrafficGenerator
from streaming.generator.incidents import UNUSUAL_GEOS
from streaming.generator.timebase import to_ms
from streaming.incidents.grouping import Window
from streaming.incidents.quality import Label, assess

START = datetime(2026, 12, 1, 10, 0, 3, tzinfo=UTC)
GEN = TrafficGenerator(7, "salt", fraud=False)


def test_plan_has_every_scenario_in_its_own_segment_with_time_to_catch_it() -> None:
    plan = plan_incidents(START, 360, GEN)
    assert sorted(inc.type for inc in plan) == sorted(FraudType)
    assert len({(inc.geo, inc.platform) for inc in plan}) == len(plan)
    assert plan[0].start == START + LEAD
    assert max(inc.start for inc in plan) <= START + timedelta(seconds=360) - CATCH
    burst = next(inc for inc in plan if inc.type is FraudType.EMULATOR_BURST)
    assert burst.geo in UNUSUAL_GEOS and burst.platform in ("web", "android")


def test_scripted_schedule_injects_the_plan_into_the_generators_traffic() -> None:
    gen = TrafficGenerator(7, "salt", fraud=False)
    plan = plan_incidents(START, 360, gen)
    gen.scheduler = ScriptedIncidents(gen, plan)
    flood = plan[0]
    batch = gen.batch(2_000, flood.start, flood.start + timedelta(seconds=30))
    assert [inc.id for inc in batch.incidents] == [flood.id]
    assert (batch.truth >= 0).sum() > 0  # fraud clicks among the organic ones
    assert gen.scheduler.incidents_between(to_ms(START), to_ms(flood.start)) == []


def test_too_short_a_run_is_refused_naming_the_minimum() -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_SECONDS:.0f}"):
        plan_incidents(START, MIN_SECONDS - 1, GEN)


def test_summary_refuses_zero_incidents() -> None:
    with pytest.raises(RuntimeError, match="no fraud incident was injected"):
        caught_table(assess([], [], {}, (START, START + timedelta(minutes=6))))


def test_summary_lists_each_incident_caught_or_not() -> None:
    labels = [
        Label("inc-a", "bot_click_flood", "US", "ios", START, START + timedelta(minutes=4)),
        Label("inc-b", "ctr_inflation", "DE", "web", START, START + timedelta(minutes=4)),
    ]
    end = START + timedelta(minutes=2)
    windows = [Window("US", "ios", end - timedelta(minutes=5), end, 0.9)]
    table = caught_table(assess(labels, windows, {}, (START, START + timedelta(minutes=6))))
    assert table.row_count == 2
    assert "1 of 2 caught, median delay 2m 00s" in str(table.caption)
