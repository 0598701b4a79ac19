"""The code location's entry point: every definition under defs/, found by dg's loader.

`dg check defs`, `dg dev`, `dagster dev -w workspace.yaml` and `dagster asset materialize -m
adnomaly_dagster.definitions` all load this module. Nothing reads the environment here:
resources read the settings when they are used.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
