"""The code location loads and validates, with descriptions, kinds and groups on every asset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from adnomaly_dagster.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate() -> None:
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


def test_every_asset_is_described_and_grouped() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key} has no description"
        assert node.group_name in {"ingest", "lake", "warehouse", "features", "detection"}, key
        assert node.kinds, f"{key} has no kinds"


def test_sensors_and_jobs_resolve() -> None:
    names = {s.name for s in defs.sensors or []}
    assert {"stream_health", "partitions_when_complete"} <= names
    job = defs.resolve_job_def("lake_hourly_job")
    assert isinstance(job, dg.JobDefinition) and job.partitions_def is not None
