"""A throwaway Feast project next to the real one, for tests and benchmarks.

Redis keys carry the project name, so a copy of the repo under another name, with its own
registry and Parquet dir, never touches the online values the detector reads, and
`store.teardown()` removes its keys afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streaming.features.store import FeatureRepoError, apply_repo, open_store
from streaming.settings import Settings

ENV_KEYS = ("FEAST_REGISTRY_PATH", "FEAST_OFFLINE_DIR")


def scratch_repo(source: Path, target: Path, project: str) -> Path:
    """A copy of the repo whose feature_store.yaml names another project."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    config = target / "feature_store.yaml"
    text = config.read_text()
    if "project: adnomaly\n" not in text:
        raise FeatureRepoError(f"{config}: no `project: adnomaly` line to rename")
    config.write_text(text.replace("project: adnomaly\n", f"project: {project}\n"))
    return target


@contextlib.contextmanager
def scratch_store(settings: Settings, prefix: str) -> Iterator[Any]:
    """An applied scratch project (registry and Parquet in a temporary dir); everything it
    created, Redis keys included, is gone afterwards and the environment is restored."""
    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
        os.environ["FEAST_REGISTRY_PATH"] = f"{tmp}/registry.db"
        os.environ["FEAST_OFFLINE_DIR"] = f"{tmp}/offline"
        project = f"{prefix}_{uuid.uuid4().hex[:8]}".replace("-", "_")
        try:
            repo = scratch_repo(settings.feature_repo_path, Path(tmp) / "repo", project)
            with contextlib.redirect_stdout(sys.stderr):  # Feast prints its plan on stdout
                apply_repo(settings, repo)
            store = open_store(settings, repo)
            try:
                yield store
            finally:
                store.teardown()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
