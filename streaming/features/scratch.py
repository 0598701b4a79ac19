"""A throwaway Feast project next to the real one, for tests and benchmarks.

Redis keys carry the project name, so a copy of the repo under another name, with its own
registry and Parquet dir, never touches the online values the detector reads, and
`store.teardown()` removes its keys afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streaming.features.store import FeatureRepoError, apply_repo, open_store
from streaming.settings import Settings


def scratch_repo(source: Path, target: Path, project: str) -> Path:
    """A copy of the repo whose feature_store.yaml names another project."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    config = target / "feature_store.yaml"
    text = config.read_text()
    if "project: adnomaly\n" not in text:
        raise FeatureRepoError(f"{config}: no `project: adnomaly` line to rename")
    config.write_text(text.replace("project: adnomaly\n", f"project: {project}\n"))
    return target


def scratch_settings(settings: Settings, state: Path) -> Settings:
    """The same stack, with the Feast registry and offline Parquet under `state`."""
    return settings.model_copy(
        update={
            "feast_registry_path": state / "registry.db",
            "feast_offline_dir": state / "offline",
        }
    )


@contextlib.contextmanager
def scratch_store(settings: Settings, prefix: str) -> Iterator[Any]:
    """An applied scratch project (registry and Parquet in a temporary dir); everything it
    created, Redis keys included, is gone afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
        project = f"{prefix}_{uuid.uuid4().hex[:8]}".replace("-", "_")
        scratch = scratch_settings(settings, Path(tmp))
        repo = scratch_repo(settings.feature_repo_path, Path(tmp) / "repo", project)
        apply_repo(scratch, repo)
        store = open_store(scratch, repo)
        try:
            yield store
        finally:
            store.teardown()
