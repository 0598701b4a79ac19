"""The Feast repo as the project uses it: where its registry and offline Parquet live, a
FeatureStore bound to them, and `feast apply`.

feature_store.yaml takes the registry path and Redis through Feast's `${VAR}` substitution and
definitions.py reads the offline dir from the settings, so `cd feature_repo && feast apply` with
`.env` loaded and `adnomaly features apply` register the same repo in the same registry. Here a
FeatureStore gets a RepoConfig made from the same file with the settings substituted (this
process's environment is left alone), and applying runs the Feast CLI with the settings as its
environment: its deletions, validation and plan output are Feast's own.
"""

from __future__ import annotations

import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streaming.settings import Settings, child_env, settings_env

PUSH_SOURCE = "traffic_5m_push"
FEATURE_SERVICE = "fraud_model_v1"
CONFIG_FILE = "feature_store.yaml"


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
    return FeastPaths(
        repo=(repo or settings.feature_repo_path).resolve(),
        registry=settings.feast_registry_path,
        offline_dir=settings.feast_offline_dir,
        view=settings.feature_view_name,
    )


def _checked(settings: Settings, repo: Path | None) -> FeastPaths:
    paths = feast_paths(settings, repo)
    if not (paths.repo / CONFIG_FILE).is_file():
        raise FeatureRepoError(
            f"no Feast repo at {paths.repo} ({CONFIG_FILE} missing); "
            "set FEATURE_REPO_PATH to the directory holding it"
        )
    return paths


def _substituted(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return string.Template(node).substitute(values)
    if isinstance(node, dict):
        return {key: _substituted(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_substituted(value, values) for value in node]
    return node


def repo_config(settings: Settings, repo: Path) -> Any:
    """feature_store.yaml as Feast reads it, each `${VAR}` in its values taken from the settings
    instead of the environment; a variable that is no setting is named."""
    import yaml  # type: ignore[import-untyped]
    from feast import RepoConfig

    path = repo / CONFIG_FILE
    try:
        raw = _substituted(yaml.safe_load(path.read_text()), settings_env(settings))
    except KeyError as exc:
        raise FeatureRepoError(f"{path}: ${{{exc.args[0]}}} is not a setting") from None
    config = RepoConfig(**raw)
    config.repo_path = repo
    return config


def open_store(settings: Settings, repo: Path | None = None) -> Any:
    """A FeatureStore on an applied repo; fails naming the step that is missing."""
    paths = _checked(settings, repo)
    if not paths.registry.is_file():
        raise FeatureRepoError(
            f"Feast registry {paths.registry} does not exist: run `make feast-apply` first"
        )
    from feast import FeatureStore  # slow to import: only once the repo is known to be usable

    return FeatureStore(repo_path=str(paths.repo), config=repo_config(settings, paths.repo))


def feast_cli(settings: Settings, repo: Path, *args: str, timeout_s: float = 300) -> str:
    """`feast --chdir REPO ARGS…` with the settings as its environment; its stdout.

    The definitions read the settings at import, so the child registers exactly what these
    settings say (a scratch copy's own offline dir included)."""
    feast = Path(sys.executable).with_name("feast")
    if not feast.is_file():
        raise FeatureRepoError(f"the Feast CLI is not at {feast}: run `uv sync`")
    try:
        done = subprocess.run(
            [str(feast), "--chdir", str(repo), *args],
            env=child_env(settings),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FeatureRepoError(f"`feast {' '.join(args)}` took over {timeout_s:.0f}s") from None
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise FeatureRepoError(f"`feast {' '.join(args)}` in {repo} failed: {output}")
    return done.stdout


def apply_repo(settings: Settings, repo: Path | None = None) -> FeastPaths:
    """`feast apply` of the repo with these settings, from any working directory; Feast's plan
    goes to stderr (stdout belongs to the caller's results)."""
    paths = _checked(settings, repo)
    paths.registry.parent.mkdir(parents=True, exist_ok=True)
    paths.view_dir.mkdir(parents=True, exist_ok=True)
    # before the first backfill there is nothing to validate but a warning about it
    empty = not any(paths.view_dir.iterdir())
    args = ["apply", "--no-progress", *(["--skip-source-validation"] if empty else [])]
    sys.stderr.write(feast_cli(settings, paths.repo, *args))
    return paths
