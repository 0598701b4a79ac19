"""The Feast repo's definitions and where its registry and data live, without servers."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from streaming.feature_contract import FEATURE_NAMES
from streaming.features.store import FeatureRepoError, feast_paths, open_store, repo_config
from streaming.settings import PROJECT_ROOT, Settings, load_settings

REPO = PROJECT_ROOT / "feature_repo"
VARIABLE = re.compile(r"\$\{(\w+)\}")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for name in ("FEAST_REGISTRY_PATH", "FEAST_OFFLINE_DIR", "FEATURE_REPO_PATH"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "HASH_SALT": "s",
        "DB_PASSWORD": "d",
        "MINIO_ACCESS_KEY": "a",
        "MINIO_SECRET_KEY": "m",
        "REDIS_PASSWORD": "r",
        "ADNOMALY_STATE_DIR": str(tmp_path / "state"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ADNOMALY_ENV_FILE", "/dev/null")
    return load_settings()


def _definitions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("adnomaly_feast_defs", REPO / "definitions.py")
    assert spec is not None and spec.loader is not None
    defs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(defs)
    return defs


def _env_example_names() -> set[str]:
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


def test_registry_and_offline_data_default_to_the_state_dir(settings: Settings) -> None:
    paths = feast_paths(settings)
    assert paths.repo == REPO.resolve()
    assert paths.registry == settings.state_dir / "feast" / "registry.db"
    assert paths.view_dir == settings.state_dir / "feast" / "offline" / "traffic_5m_by_geo_platform"


def test_relative_paths_are_read_from_the_feature_repo_as_feast_reads_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEAST_REGISTRY_PATH", "../.adnomaly/feast/registry.db")
    monkeypatch.setenv("FEAST_OFFLINE_DIR", str(tmp_path / "off"))
    paths = feast_paths(load_settings())
    assert paths.registry == (PROJECT_ROOT / ".adnomaly" / "feast" / "registry.db").resolve()
    assert paths.offline_dir == tmp_path / "off"


def test_env_example_holds_every_variable_the_feast_repo_needs() -> None:
    """`cd feature_repo && feast apply` with only .env loaded: whatever feature_store.yaml
    substitutes must be there, and .env's relative paths must be the state dir's."""
    text = (REPO / "feature_store.yaml").read_text()
    config = yaml.safe_load(text)
    wanted = set(VARIABLE.findall(yaml.safe_dump(config)))
    assert wanted == {"FEAST_REGISTRY_PATH", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}
    assert wanted <= _env_example_names()
    env = {}
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.startswith(("FEAST_", "ADNOMALY_STATE_DIR")):
            key, _, value = line.partition("=")
            env[key] = value
    state = (PROJECT_ROOT / env["ADNOMALY_STATE_DIR"]).resolve()
    assert (REPO / env["FEAST_REGISTRY_PATH"]).resolve() == state / "feast" / "registry.db"
    assert (REPO / env["FEAST_OFFLINE_DIR"]).resolve() == state / "feast" / "offline"


def test_repo_config_takes_the_settings_and_leaves_the_environment_alone(
    settings: Settings,
) -> None:
    import feast  # noqa: F401 (importing Feast sets its own metrics variables)

    before = dict(os.environ)
    config = repo_config(settings, REPO)
    assert os.environ == before
    assert config.project == "adnomaly"
    assert config.registry.path == str(settings.feast_registry_path)
    assert config.online_store.connection_string.startswith(
        f"{settings.redis_host}:{settings.redis_port},password=r,"
    )


def test_a_variable_that_is_no_setting_is_named(settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns("__py*"))
    config = tmp_path / "repo" / "feature_store.yaml"
    config.write_text(config.read_text().replace("${REDIS_HOST}", "${REDIS_HOTS}"))
    with pytest.raises(FeatureRepoError, match=r"\$\{REDIS_HOTS\} is not a setting"):
        repo_config(settings, tmp_path / "repo")


def test_definitions_import_from_the_settings_alone(settings: Settings) -> None:
    """No FEAST_OFFLINE_DIR in the environment: the settings' default is used, not an error."""
    assert "FEAST_OFFLINE_DIR" not in os.environ
    defs = _definitions()
    view = defs.traffic_5m_by_geo_platform
    assert [f.name for f in view.features] == list(FEATURE_NAMES)
    assert view.name == settings.feature_view_name
    assert view.ttl == timedelta(days=3)
    assert sorted(view.entities) == ["geo", "platform"]
    assert defs.traffic_5m_parquet.path == str(feast_paths(settings).view_dir)
    assert defs.fraud_model_v1.name == "fraud_model_v1"


def test_definitions_follow_a_moved_offline_dir(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEAST_OFFLINE_DIR", "/data/offline")
    assert _definitions().traffic_5m_parquet.path == "/data/offline/traffic_5m_by_geo_platform"


def test_a_missing_repo_or_registry_is_named(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(FeatureRepoError, match=r"feature_store\.yaml missing"):
        open_store(settings, tmp_path)
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns("__py*"))
    with pytest.raises(FeatureRepoError, match="make feast-apply"):
        open_store(settings, tmp_path / "repo")
