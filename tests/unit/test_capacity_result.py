"""What `bench capacity` reports from its steps, checked without a stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from adnomaly_ops.bench.capacity import Step, _result
from streaming.settings import Settings, load_settings


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def test_the_result_reports_the_sustained_steps_cpu_per_event_and_the_failed_limit(
    settings: Settings, tmp_path: Path
) -> None:
    good = Step(10_000, seconds=40, produced_eps=10_000, stored=400_000, verdict="sustained")
    good.cpu = {"postgres": 0.2, "db-sink": 0.1}
    good.cpu_us = {"postgres": 20.04, "db-sink": 9.96, "generator (load)": 14.0}
    bad = Step(12_500, seconds=40, produced_eps=12_400, stored=496_000, verdict="lag grew")
    bad.cpu_us = {"postgres": 25.0}
    result = _result(settings, [good, bad], "lag grew", 1000, tmp_path / "c.png")
    x = result.extra
    assert result.throughput_eps == 10_000 and result.limit_eps == 12_400
    assert x["cpu_us_per_event_at_throughput"] == {
        "postgres": 20.0,
        "generator (load)": 14.0,
        "db-sink": 10.0,
    }
    assert x["cpu_share_at_throughput"] == {"postgres": 0.667, "db-sink": 0.333}
    assert [s["cpu_us_per_event"] for s in x["steps"]][1] == {"postgres": 25.0}


def test_nothing_sustained_reports_no_cpu_and_no_throughput(
    settings: Settings, tmp_path: Path
) -> None:
    bad = Step(5_000, seconds=40, produced_eps=5_000, stored=200_000, verdict="p99 too high")
    result = _result(settings, [bad], "p99 too high", 1000, tmp_path / "c.png")
    assert result.throughput_eps == 0.0 and result.limit_eps == 5_000
    assert result.extra["cpu_us_per_event_at_throughput"] == {}
