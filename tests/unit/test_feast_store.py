"""The Feast repo's definitions and where its registry and data live, without servers."""

from __future__ import annotations

import importlib.util
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from streaming.feature_contract import FEATURE_NAMES
from streaming.features.store import FeatureRepoError, feast_env, feast_paths, open_store
from streaming.settings import PROJECT_ROOT, Settings, load_settings

REPO = PROJECT_ROOT / "feature_repo"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    # open_store exports these for Feast's substitution; monkeypatch restores them afterwards
    for name in ("FEAST_REGISTRY_PATH", "FEAST_OFFLINE_DIR", "REDIS_HOST", "REDIS_PORT"):
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


def test_registry_and_offline_data_default_to_the_state_dir(settings: Settings) -> None:
    paths = feast_paths(settings)
    assert paths.repo == REPO.resolve()
    assert paths.registry == settings.state_dir / "feast" / "registry.db"
    assert paths.view_dir == settings.state_dir / "feast" / "offline" / "traffic_5m_by_geo_platform"
    env = feast_env(settings, paths)
    assert env["REDIS_PASSWORD"] == "r" and env["FEAST_OFFLINE_DIR"] == str(paths.offline_dir)


def test_env_vars_move_registry_and_offline_data(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEAST_REGISTRY_PATH", str(tmp_path / "r.db"))
    monkeypatch.setenv("FEAST_OFFLINE_DIR", str(tmp_path / "off"))
    paths = feast_paths(settings)
    assert (paths.registry, paths.offline_dir) == (tmp_path / "r.db", tmp_path / "off")


def test_feature_store_yaml_takes_everything_from_the_environment() -> None:
    text = (REPO / "feature_store.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["project"] == "adnomaly"
    assert config["registry"]["path"] == "${FEAST_REGISTRY_PATH}"
    assert config["online_store"]["type"] == "redis"
    conn = config["online_store"]["connection_string"]
    assert conn.startswith("${REDIS_HOST}:${REDIS_PORT},password=${REDIS_PASSWORD}")


def test_definitions_match_the_feature_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEAST_OFFLINE_DIR", "/data/offline")
    spec = importlib.util.spec_from_file_location("adnomaly_feast_defs", REPO / "definitions.py")
    assert spec is not None and spec.loader is not None
    defs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(defs)
    view = defs.traffic_5m_by_geo_platform
    assert [f.name for f in view.features] == list(FEATURE_NAMES)
    assert view.ttl == timedelta(days=3)
    assert sorted(view.entities) == ["geo", "platform"]
    assert defs.traffic_5m_parquet.path == "/data/offline/traffic_5m_by_geo_platform"
    assert defs.fraud_model_v1.name == "fraud_model_v1"


def test_a_missing_repo_or_registry_is_named(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(FeatureRepoError, match=r"feature_store\.yaml missing"):
        open_store(settings, tmp_path)
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns("__py*"))
    with pytest.raises(FeatureRepoError, match="make feast-apply"):
        open_store(settings, tmp_path / "repo")
