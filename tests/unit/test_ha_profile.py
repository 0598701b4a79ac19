"""The HA profile's service list and rendered configs, and that the single profile is unchanged
by it (ADNOMALY_PROFILE; README, "High availability")."""

from __future__ import annotations

from pathlib import Path

import pytest

from adnomaly_ops.bench.capacity import Step, _growth, _verdict
from adnomaly_ops.stack.render import render_all
from adnomaly_ops.stack.services import all_services, service_env
from adnomaly_ops.stack.tools import Tools
from streaming.flink.config import JobConfig
from streaming.kafka.topics import topic_specs
from streaming.settings import Settings, load_settings


def _settings(tmp_path: Path, profile: str) -> Settings:
    return load_settings(ADNOMALY_PROFILE=profile, ADNOMALY_STATE_DIR=str(tmp_path / "state"))


def test_single_profile_runs_one_of_everything(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "single")
    names = [s.name for s in all_services(settings, Tools(settings.tools_dir))]
    assert "kafka-2" not in names and "flink-taskmanager-2" not in names
    assert not any(n.endswith("-2") for n in names)
    assert "," not in settings.kafka_bootstrap
    assert {s.replication_factor for s in topic_specs(settings)} == {1}
    assert all("min.insync.replicas" not in s.configs() for s in topic_specs(settings))
    assert JobConfig.for_stack(settings).parallelism == 1


def test_ha_profile_runs_three_nodes_two_taskmanagers_two_of_each_consumer(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, "ha")
    services = {s.name: s for s in all_services(settings, Tools(settings.tools_dir))}
    for name in ("kafka", "kafka-2", "kafka-3", "flink-taskmanager", "flink-taskmanager-2"):
        assert name in services
    for name in ("db-sink", "lake-sink", "feast-ingestor", "detector"):
        first, second = services[name], services[f"{name}-2"]
        assert f"{name}-1" in first.command and f"{name}-2" in second.command
        # the same principal and role: the second instance gets the first's credentials only;
        # its METRICS_PORT is moved so that it serves on its own port
        moved = {k: v for k, v in second.env.items() if k != "METRICS_PORT"}
        assert moved == {k: v for k, v in first.env.items() if k != "METRICS_PORT"}
        shift = int(second.env["METRICS_PORT"]) - settings.metrics_port
        assert (
            settings.metrics_port + shift + (settings.metrics_ports[name] - settings.metrics_port)
            == (settings.metrics_ports[f"{name}-2"])
        )
    ports = [p for s in services.values() for p in s.ports.values()]
    assert len(ports) == len(set(ports)), "two services on one port"
    assert settings.kafka_bootstrap.count(",") == 2
    assert {s.replication_factor for s in topic_specs(settings)} == {3}
    assert {s.configs()["min.insync.replicas"] for s in topic_specs(settings)} == {"2"}
    assert JobConfig.for_stack(settings).parallelism == 2
    assert "drive{1...4}" in " ".join(services["minio"].command)


def test_ha_second_instance_env_holds_only_its_own_secrets(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "ha")
    env = service_env(settings, "db-sink-2")
    assert "KAFKA_DB_SINK_PASSWORD" in env and "KAFKA_ADMIN_PASSWORD" not in env
    assert env["DB_USER"] == "adnomaly_db_sink"


def test_ha_kafka_configs_form_one_quorum_of_three(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "ha")
    tools = Tools(settings.tools_dir)
    if not (tools.pyflink_home / "conf" / "config.yaml").exists():
        pytest.skip("the apache-flink wheel is not installed")
    render_all(settings, tools, all_services(settings, tools))
    configs = [
        (settings.state_dir / "kafka" / f"node-{n}" / "server.properties").read_text()
        for n in (1, 2, 3)
    ]
    voters = {line for c in configs for line in c.splitlines() if line.startswith("controller.")}
    assert len([v for v in voters if "quorum.voters" in v]) == 1, "nodes disagree on the quorum"
    prometheus = (settings.state_dir / "monitoring" / "prometheus.yml").read_text()
    for name in ("db-sink", "lake-sink", "feast-ingestor", "detector"):
        for port in (settings.metrics_ports[name], settings.metrics_ports[f"{name}-2"]):
            assert f'"127.0.0.1:{port}"' in prometheus, f"{name}: {port} not scraped"
    for n, config in enumerate(configs, 1):
        assert f"node.id={n}\n" in config
        assert "offsets.topic.replication.factor=3\n" in config
        assert "min.insync.replicas=2\n" in config


def test_capacity_judges_a_growing_lag_not_a_saw_tooth() -> None:
    # Flink's lag climbs for 10 s and drops at each checkpoint: its minimum does not grow
    saw = [(float(t), {"flink": (t % 10) * 1000}) for t in range(40)]
    assert _growth(saw, 40) == {"flink": 0}
    rising = [(float(t), {"db": t * 2000}) for t in range(40)]
    assert _growth(rising, 40)["db"] == 40_000
    step = Step(10_000, seconds=40, produced_eps=10_000, lag_growth={"db": 40_000}, drained_s=1)
    assert _verdict(step, 10_000, 1000).startswith("lag grew")
    ok = Step(10_000, seconds=40, produced_eps=9_900, lag_growth={"db": 0}, drained_s=1)
    ok.p99_ms = 300
    assert _verdict(ok, 10_000, 1000) == "sustained"
    ok.p99_ms = 1500
    assert "p99" in _verdict(ok, 10_000, 1000)
    short = Step(10_000, seconds=40, produced_eps=8_000, drained_s=1)
    assert "load generator" in _verdict(short, 10_000, 1000)
