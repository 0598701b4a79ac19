"""Settings fail at start with the variable's name; defaults are README's "Configuration"."""

from __future__ import annotations

import re

import pytest

from streaming.settings import PROJECT_ROOT, Settings, SettingsError, load_settings


def test_seed_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EVENTS_PER_SEC", "KAFKA_BOOTSTRAP", "TOPIC", "DB_PORT", "MINIO_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.events_per_sec == 120
    assert settings.kafka_bootstrap == "localhost:29092"
    assert settings.topic == "clickstream"
    assert settings.db_port == 5433
    assert settings.minio_bucket == "adnomaly-data"
    assert settings.feature_view_name == "traffic_5m_by_geo_platform"


def test_missing_credential_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DB_PASSWORD")
    with pytest.raises(SettingsError, match="DB_PASSWORD is not set"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PORT", "five"),
        ("EVENTS_PER_SEC", "-3"),
        ("REDIS_PORT", "70000"),
        ("ADNOMALY_STACK", "k8s"),
    ],
)
def test_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.db_password.get_secret_value() not in repr(settings)


def test_readme_lists_every_variable() -> None:
    """README's Configuration table names every setting's variable, and nothing that is none."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row)}
    aliases = {str(field.alias) for field in Settings.model_fields.values()}
    assert aliases - listed == set(), "settings missing from README's Configuration table"
    assert listed - aliases - {"ADNOMALY_ENV_FILE"} == set(), "README lists unknown variables"
