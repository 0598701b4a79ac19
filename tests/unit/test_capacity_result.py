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


def _ports(s: Settings) -> set[int]:
    """Every port a stack of these settings listens on (the Flink ones it derives included)."""
    ports = {p for _, client, controller in s.kafka_nodes for p in (client, controller)}
    ports |= {s.db_port, s.minio_console_port, s.redis_port, s.flink_rest_port, s.dagster_port}
    ports |= {int(s.minio_endpoint.rsplit(":", 1)[1]), s.pgadmin_port, s.ui_port}
    ports |= {s.prometheus_port, s.alertmanager_port}
    ports |= set(range(s.flink_rpc_port, s.flink_rpc_port + 4))
    ports |= set(range(s.metrics_port, s.metrics_port + 15))
    return ports


def test_the_bench_s_other_profile_stack_takes_no_port_of_another_stack(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make bench starts a stack of the other profile beside the running one: its ports must
    miss the default stack's (either profile) and every test slot's (tests/conftest.py)."""
    from adnomaly_ops.bench.profiles import settings_for
    from tests import conftest

    theirs: set[int] = set()
    for profile in ("single", "ha"):
        monkeypatch.setenv("ADNOMALY_PROFILE", profile)
        for key in conftest.TEST_ENV:  # the default stack: the settings' own defaults
            if key.endswith(("_PORT", "_URL", "_ENDPOINT", "_BOOTSTRAP")):
                monkeypatch.delenv(key, raising=False)
        theirs |= _ports(Settings(_env_file=None))
        for slot in range(10):
            offset = slot * 100
            for key, value in conftest.TEST_ENV.items():
                if key.endswith(("_PORT", "_URL", "_ENDPOINT", "_BOOTSTRAP")):
                    host, port = value.rsplit(":", 1) if ":" in value else ("", value)
                    shifted = int(port) - conftest.OFFSET + offset
                    monkeypatch.setenv(key, f"{host}:{shifted}" if host else str(shifted))
            theirs |= _ports(Settings(_env_file=None))
    for profile in ("single", "ha"):
        ours = _ports(settings_for(settings, profile))
        assert not ours & theirs, f"{profile}: {sorted(ours & theirs)}"
    assert settings_for(settings, "ha").state_dir.name == f"{settings.state_dir.name}-ha"


def test_several_runs_report_the_median_rate_and_the_median_run_s_own_limit(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adnomaly_ops.bench import capacity
    from adnomaly_ops.bench.common import BenchResult

    figures = iter([(24_944.0, None), (10_028.0, 15_007.0), (20_115.0, 24_734.0)])

    def run(_settings: Settings, **kwargs: object) -> BenchResult:
        ours, limit = next(figures)
        chart = kwargs["chart_path"]
        assert isinstance(chart, Path)
        chart.write_text(f"chart of {ours}")
        runs = [{"ours_eps": ours, **({"limit_eps": limit} if limit else {})}]
        return BenchResult("capacity", ours, limit, runs, extra={"chart": str(chart)})

    monkeypatch.setattr(capacity, "bench_capacity", run)
    monkeypatch.setattr(capacity, "PROJECT_ROOT", tmp_path)
    single = settings.model_copy(update={"profile": "single"})
    result = capacity.bench_capacity_runs(single, 3, say=lambda _: None)
    assert result.throughput_eps == 20_115 and result.limit_eps == 24_734  # one run's pair
    assert [r["ours_eps"] for r in result.runs] == [24_944, 10_028, 20_115]
    assert result.extra["median_run"] == 3 and result.target_eps == 30_000
    assert (tmp_path / "capacity.png").read_text() == "chart of 20115.0"
