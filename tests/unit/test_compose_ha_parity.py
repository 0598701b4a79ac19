"""The compose HA variant (infra/docker-compose.ha.yml laid over docker-compose.yml) and the
native ADNOMALY_PROFILE=ha describe one stack: the same services (three Kafka nodes, two
TaskManagers, two instances of each consuming service), the same host ports on 127.0.0.1, the
same subcommands, settings that load as the HA profile, and MinIO over four drives.

No Docker engine is needed: the two files are merged here as compose merges them (mappings
key by key, `command` replaced, volumes by container path, ports appended, `extends` copied
from the base file first).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from adnomaly_ops.stack.services import Service, app_services, kafka_name
from streaming.settings import PROJECT_ROOT, Settings, load_settings
from tests.unit.test_compose_parity import (
    COMPOSE_FILE,
    CREDENTIALS,
    LOOPBACK,
    ComposeFile,
    _resolve,
    credential_problems,
    env_example,
    environment,
    health_problems,
    image_problems,
    loopback_problems,
    native_services,
    published_ports,
    variable_problems,
)

HA_FILE = PROJECT_ROOT / "infra" / "docker-compose.ha.yml"
# the controller listener stays inside the compose network on every node
INTERNAL = {(kafka_name(n), "controller") for n in (1, 2, 3)} | {("flink-jobmanager", "rpc")}


def _merge(base: Any, over: Any, key: str = "") -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for k, v in over.items():
            merged[k] = _merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return merged
    if key == "volumes" and isinstance(base, list) and isinstance(over, list):
        by_target = {str(v).split(":")[1]: v for v in base}
        by_target.update({str(v).split(":")[1]: v for v in over})
        return list(by_target.values())
    if key == "ports" and isinstance(base, list) and isinstance(over, list):
        return base + [p for p in over if p not in base]
    return copy.deepcopy(over)


def merged_compose(base_path: Path, override_path: Path) -> ComposeFile:
    base = yaml.safe_load(base_path.read_text())
    over = yaml.safe_load(override_path.read_text())
    services = copy.deepcopy(base["services"])
    for name, svc in over["services"].items():
        extends = svc.get("extends")
        if extends:
            assert extends["file"] == base_path.name, f"{name} extends another file"
            start = copy.deepcopy(base["services"][extends["service"]])
        else:
            start = services.get(name, {})
        services[name] = _merge(start, {k: v for k, v in svc.items() if k != "extends"})
    raw = {**base, "services": services, "volumes": {**base["volumes"], **over["volumes"]}}
    return ComposeFile(raw=raw, resolved=_resolve(raw))


@pytest.fixture(scope="module")
def settings(isolated_env: None) -> Settings:
    return load_settings(ADNOMALY_PROFILE="ha", **{name: "unused-here" for name in CREDENTIALS})


@pytest.fixture(scope="module")
def native(settings: Settings) -> list[Service]:
    return native_services(settings)


@pytest.fixture(scope="module")
def apps(settings: Settings) -> list[Service]:
    return app_services(settings)


@pytest.fixture(scope="module")
def compose() -> ComposeFile:
    return merged_compose(COMPOSE_FILE, HA_FILE)


def test_ha_compose_runs_every_native_ha_service(
    compose: ComposeFile, native: list[Service], apps: list[Service]
) -> None:
    names = set(compose.services)
    wanted = {s.name for s in native + apps}
    assert {"kafka-2", "kafka-3", "flink-taskmanager-2", "db-sink-2", "detector-2"} <= wanted
    assert wanted - names == set()


def test_ha_host_ports_are_the_native_ones_on_loopback(
    compose: ComposeFile, native: list[Service]
) -> None:
    for svc in native:
        published = {(p.host_ip, p.host_port) for p in published_ports(compose.services[svc.name])}
        for port_name, port in svc.ports.items():
            if (svc.name, port_name) not in INTERNAL:
                assert (LOOPBACK, port) in published, f"{svc.name}: {port_name} {port}"
    assert loopback_problems(compose) == []


def test_ha_compose_keeps_the_base_files_rules(compose: ComposeFile) -> None:
    example = env_example()
    assert variable_problems(compose, example) == []
    assert credential_problems(compose, example) == []
    assert health_problems(compose) == []
    assert image_problems(compose) == []


def test_ha_instances_run_the_native_subcommands(compose: ComposeFile, apps: list[Service]) -> None:
    for svc in apps:
        subcommand = svc.command[svc.command.index("adnomaly_cli") + 1 :]
        assert compose.services[svc.name]["command"] == ["adnomaly", *subcommand], svc.name


def test_project_containers_load_the_ha_profile_with_every_kafka_node(
    compose: ComposeFile, apps: list[Service], isolated_env: None
) -> None:
    for svc in apps:
        env = environment(compose.services[svc.name])
        loaded = load_settings(**env)
        assert loaded.ha, svc.name
        hosts = [node.rsplit(":", 1)[0] for node in loaded.kafka_bootstrap.split(",")]
        assert hosts == ["kafka", "kafka-2", "kafka-3"], svc.name


def test_kafka_nodes_form_one_quorum_of_three(compose: ComposeFile) -> None:
    ids = set()
    for node in (1, 2, 3):
        env = environment(compose.services[kafka_name(node)])
        assert env["KAFKA_NODES"] == "3"
        ids.add(env["KAFKA_NODE_ID"])
        volumes = compose.services[kafka_name(node)]["volumes"]
        assert sum(str(v).endswith(":/var/lib/kafka/data") for v in volumes) == 1
    assert ids == {"1", "2", "3"}
    data = {
        str(v).split(":")[0]
        for n in (1, 2, 3)
        for v in compose.services[kafka_name(n)]["volumes"]
        if str(v).endswith("/var/lib/kafka/data")
    }
    assert len(data) == 3, "each node its own volume"


def test_minio_is_one_erasure_set_over_four_volumes(compose: ComposeFile) -> None:
    minio = compose.services["minio"]
    assert "/data{1...4}" in minio["command"]
    mounts = {str(v).split(":")[1] for v in minio["volumes"]}
    assert {"/data1", "/data2", "/data3", "/data4"} <= mounts
    assert all(name in compose.raw["volumes"] for name in (f"minio-data-{i}" for i in range(1, 5)))
