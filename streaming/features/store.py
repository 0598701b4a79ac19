"""Where the Feast repo, its registry and its offline Parquet live; a FeatureStore bound to them.

feature_store.yaml takes every setting through Feast's `${VAR}` substitution, which has no
defaults, so the defaults live here: the registry and the offline data belong to the state dir
(never to git), and FEAST_REGISTRY_PATH / FEAST_OFFLINE_DIR move them (tests use temporary dirs).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streaming.settings import Settings

PUSH_SOURCE = "traffic_5m_push"
FEATURE_SERVICE = "fraud_model_v1"


class FeatureRepoError(RuntimeError):
    """The Feast repo is missing, not applied yet, or its offline data is absent."""


@dataclass(frozen=True)
class FeastPaths:
    repo: Path
    registry: Path
    offline_dir: Path
    view: str

    @property
    def view_dir(self) -> Path:
        """Where the backfill writes `day=YYYY-MM-DD/` partitions (the FileSource path)."""
        return self.offline_dir / self.view


def feast_paths(settings: Settings, repo: Path | None = None) -> FeastPaths:
    state = settings.state_dir / "feast"
    registry = os.environ.get("FEAST_REGISTRY_PATH") or str(state / "registry.db")
    offline = os.environ.get("FEAST_OFFLINE_DIR") or str(state / "offline")
    return FeastPaths(
        repo=(repo or settings.feature_repo_path).resolve(),
        registry=Path(registry).resolve(),
        offline_dir=Path(offline).resolve(),
        view=settings.feature_view_name,
    )


def feast_env(settings: Settings, paths: FeastPaths) -> dict[str, str]:
    """Every variable feature_store.yaml and definitions.py substitute."""
    return {
        "FEAST_REGISTRY_PATH": str(paths.registry),
        "FEAST_OFFLINE_DIR": str(paths.offline_dir),
        "REDIS_HOST": settings.redis_host,
        "REDIS_PORT": str(settings.redis_port),
        "REDIS_PASSWORD": settings.redis_password.get_secret_value(),
    }


def _prepare(settings: Settings, repo: Path | None) -> FeastPaths:
    paths = feast_paths(settings, repo)
    if not (paths.repo / "feature_store.yaml").is_file():
        raise FeatureRepoError(
            f"no Feast repo at {paths.repo} (feature_store.yaml missing); "
            "set FEATURE_REPO_PATH to the directory holding it"
        )
    # Feast substitutes from os.environ only, so this process's environment is the channel.
    os.environ.update(feast_env(settings, paths))
    return paths


def open_store(settings: Settings, repo: Path | None = None) -> Any:
    """A FeatureStore on an applied repo; fails naming the step that is missing."""
    paths = _prepare(settings, repo)
    if not paths.registry.is_file():
        raise FeatureRepoError(
            f"Feast registry {paths.registry} does not exist: run `make feast-apply` first"
        )
    from feast import FeatureStore  # slow to import: only once the repo is known to be usable

    return FeatureStore(repo_path=str(paths.repo))


def apply_repo(settings: Settings, repo: Path | None = None) -> FeastPaths:
    """`feast apply` with the project's settings, from any working directory.

    Feast imports the definitions as modules named by their path relative to the cwd and leaves
    the cwd changed: the cwd is restored afterwards, and modules of those names are dropped
    first, so a second apply (another copy of the repo, other env) imports them afresh.
    """
    paths = _prepare(settings, repo)
    from feast.repo_config import load_repo_config
    from feast.repo_operations import apply_total

    paths.registry.parent.mkdir(parents=True, exist_ok=True)
    paths.view_dir.mkdir(parents=True, exist_ok=True)
    config = load_repo_config(paths.repo, paths.repo / "feature_store.yaml")
    cwd = os.getcwd()
    for path in paths.repo.glob("**/*.py"):
        module = ".".join(path.relative_to(paths.repo).with_suffix("").parts)
        sys.modules.pop(module, None)
    sys.path.insert(0, str(paths.repo))
    try:
        # before the first backfill there is nothing to validate but a warning about it
        empty = not any(paths.view_dir.iterdir())
        apply_total(config, paths.repo, skip_source_validation=empty)
    finally:
        os.chdir(cwd)
        sys.path.remove(str(paths.repo))
    return paths
