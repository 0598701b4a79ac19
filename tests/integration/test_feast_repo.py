"""The Feast repo applied in a temporary copy, and what the other test_feast_* modules share;
the plain Feast CLI on the repo itself with nothing but a `.env` loaded.

Each module applies its own copy under a unique project name, so its Redis keys never meet
another module's or an earlier run's, and tears the project down at the end.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from adnomaly_cli import app as cli_app
from streaming.feature_contract import FeatureRow
from streaming.features.scratch import scratch_repo
from streaming.features.store import FeastPaths, feast_paths, open_store
from streaming.settings import PROJECT_ROOT, Settings, get_settings, load_settings, settings_env

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class AppliedRepo:
    paths: FeastPaths
    store: Any
    project: str


def run_cli(*args: str, code: int = 0) -> Result:
    """`adnomaly ...` in this process (Feast is already imported here, a subprocess takes ~10 s
    to import it on a busy machine); asserts the exit code."""
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == code, f"{args}: {result.output[-3000:]}"
    return result


@pytest.fixture(scope="module")
def feast(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedRepo]:
    """`adnomaly features apply` on a temporary copy, registry and Parquet in a temporary dir.

    The two paths are settings like any other: set in the environment for the module, they
    reach the CLI commands run here and the ingestor processes the tests start."""
    tmp = tmp_path_factory.mktemp("feast")
    project = f"t_{uuid.uuid4().hex[:10]}"
    repo = scratch_repo(PROJECT_ROOT / "feature_repo", tmp / "feature_repo", project)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEAST_REGISTRY_PATH", str(tmp / "registry.db"))
        mp.setenv("FEAST_OFFLINE_DIR", str(tmp / "offline"))
        get_settings.cache_clear()  # the CLI's settings are read once per process
        try:
            run_cli("features", "apply", "--repo", str(repo))
            settings = load_settings()
            store = open_store(settings, repo)
            yield AppliedRepo(feast_paths(settings, repo), store, project)
            store.teardown()  # deletes the project's Redis keys
        finally:
            get_settings.cache_clear()


def _dotenv(stack: Settings, state: Path) -> Path:
    """A `.env` as `make bootstrap` writes it (.env.example's variables), with this stack's
    values and the Feast paths, relative to feature_repo/ as in .env.example, under `state`."""
    repo = PROJECT_ROOT / "feature_repo"
    values = settings_env(stack)
    values["FEAST_REGISTRY_PATH"] = os.path.relpath(state / "registry.db", repo)
    values["FEAST_OFFLINE_DIR"] = os.path.relpath(state / "offline", repo)
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if "=" in line and line[0] != "#"]
    path = state / ".env"
    path.write_text("".join(f"{n}={values[n]}\n" for n in names if n in values))
    return path


def test_the_plain_feast_cli_plans_and_applies_with_only_env_loaded(
    stack: Settings, tmp_path: Path
) -> None:
    """`cd feature_repo && set -a && . ../.env && set +a && feast plan && feast apply`, in a
    shell whose environment holds nothing else; `adnomaly` then finds what it registered."""
    dotenv = _dotenv(stack, tmp_path)
    bare = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ADNOMALY_ENV_FILE": os.devnull,  # not even the checkout's own .env
    }
    for command in ("plan", "apply"):
        done = subprocess.run(
            ["bash", "-c", f'set -a && . "$0" && set +a && exec feast {command}', str(dotenv)],
            cwd=PROJECT_ROOT / "feature_repo",
            env=bare,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"feast {command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert stack.feature_view_name in done.stdout, done.stdout
    assert (tmp_path / "registry.db").is_file()
    # the same .env values, read as settings, name the registry the CLI wrote
    feast_vars = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    same = load_settings(
        FEAST_REGISTRY_PATH=feast_vars["FEAST_REGISTRY_PATH"],
        FEAST_OFFLINE_DIR=feast_vars["FEAST_OFFLINE_DIR"],
    )
    assert same.feast_registry_path == (tmp_path / "registry.db").resolve()
    view = open_store(same).get_feature_view(stack.feature_view_name)
    assert view.batch_source.path == str((tmp_path / "offline" / stack.feature_view_name).resolve())


def feature_row(geo: str, platform: str, window_end: datetime, seed: int = 0) -> FeatureRow:
    rng = random.Random(f"{geo}|{platform}|{window_end.isoformat()}|{seed}")
    users = rng.randint(1, 200)
    events = users * rng.randint(1, 4)
    return FeatureRow(
        geo=geo,  # type: ignore[arg-type]
        platform=platform,  # type: ignore[arg-type]
        window_start=window_end - timedelta(minutes=5),
        window_end=window_end,
        ctr_avg=rng.uniform(0.005, 0.05),
        bounce_rate_avg=rng.uniform(0.2, 0.9),
        event_count=events,
        cpc_avg=rng.uniform(0.1, 1.2),
        conversion_rate=rng.uniform(0, 0.1),
        unique_users=users,
        events_per_user=events / users,
        suspicious_ua_share=rng.uniform(0, 1),
    )


def minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def test_apply_registers_the_repo_objects(feast: AppliedRepo) -> None:
    store = feast.store
    assert feast.paths.registry.is_file()
    assert not feast.paths.registry.is_relative_to(PROJECT_ROOT / "feature_repo")
    assert {e.name for e in store.list_entities()} == {"geo", "platform"}
    view = store.get_feature_view(get_settings().feature_view_name)
    assert view.ttl == timedelta(days=3)
    types = {f.name: str(f.dtype) for f in view.features}
    assert types["ctr_avg"] == types["bounce_rate_avg"] == "Float32"
    assert types["event_count"] == "Int64"
    assert view.stream_source.name == "traffic_5m_push"
    assert view.batch_source.path == str(feast.paths.view_dir)
    service = store.get_feature_service("fraud_model_v1")
    assert [p.name for p in service.feature_view_projections] == [view.name]


def test_feast_test_says_clearly_when_nothing_is_there(feast: AppliedRepo) -> None:
    done = run_cli("features", "test", "--repo", str(feast.paths.repo), "--geo", "MT", code=1)
    assert "no online features for MT/ios" in done.output
