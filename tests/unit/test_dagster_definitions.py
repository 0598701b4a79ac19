"""The code location loads (as the stack's workspace does) with descriptions, kinds and groups
on every asset, freshness policies where the data must stay fresh, and stream health as checks
on the ingest assets rather than a job."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from adnomaly_dagster.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_workspace_validates() -> None:
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "passed validation" in proc.stderr + proc.stdout


def test_every_asset_is_described_grouped_and_kinded(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    groups = {"ingest", "lake", "warehouse", "features", "detection"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key} has no description"
        assert node.group_name in groups, key
        assert node.kinds, f"{key} has no kinds"
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == groups


def test_freshness_policies_replace_the_freshness_job(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    policy = graph.get(dg.AssetKey("feature_aggregates")).freshness_policy
    assert isinstance(policy, dg.FreshnessPolicy)
    assert policy.fail_window.to_timedelta() == timedelta(minutes=10)  # type: ignore[attr-defined]
    for name in ("lake_hourly_parquet", "warehouse_daily_stats", "offline_features_parquet"):
        assert graph.get(dg.AssetKey(name)).freshness_policy is not None, name
    jobs = {job.name for job in definitions.jobs or []}
    assert jobs == {"lake_hourly_job", "warehouse_daily_job", "features_daily_job"}


def test_stream_health_is_checks_on_ingest_assets(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {
        ("clickstream_topic", "consumers_keep_up"),
        ("features_topic", "consumers_keep_up"),
        ("clickstream_dlq_topic", "dlq_growth_bounded"),
        ("clickstream_events", "events_arriving"),
        ("flink_features_job", "job_running"),
    } <= checks
    sensor = definitions.resolve_sensor_def("stream_health")
    assert not sensor.targets, "stream health launches no run"


def test_blocking_checks(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    blocking = {
        spec.name
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable
        for spec in definitions.resolve_assets_def(key).check_specs
        if spec.blocking
    }
    assert blocking == {"contract_conformity", "known_geos", "no_duplicate_event_ids"}


def test_partition_sensors_target_their_jobs(definitions: dg.Definitions) -> None:
    lake = definitions.resolve_sensor_def("lake_hours_when_complete")
    warehouse = definitions.resolve_sensor_def("warehouse_days_when_complete")
    assert lake.job_name == "lake_hourly_job"
    assert warehouse.job_name == "warehouse_daily_job"
    assert definitions.resolve_job_def("lake_hourly_job").partitions_def is not None
