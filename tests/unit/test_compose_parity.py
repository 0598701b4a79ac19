"""The compose file and the native stack describe one stack, kept equal by this test.

The native service list (adnomaly_ops/stack/services.py) is the source of truth. The compose file
must use the same service names, publish the same host ports on 127.0.0.1 only, and configure
containers with .env.example's variable names. No Docker engine is needed: the file is parsed
with PyYAML and `${VAR:-default}` is resolved to its default, as `compose` does without a .env.

Each check returns the problems it finds instead of asserting, so the last test can show that
every check fails on a deliberately broken copy of the file.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from adnomaly_ops.stack.services import Service, app_services, infra_services
from adnomaly_ops.stack.tools import Tools
from streaming.settings import PROJECT_ROOT, Settings, load_settings

COMPOSE_FILE = PROJECT_ROOT / "infra" / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DOCKER_DIR = PROJECT_ROOT / "infra" / "docker"
DAGSTER_YAML = DOCKER_DIR / "dagster.yaml"
PGADMIN_SERVERS = DOCKER_DIR / "pgadmin" / "servers.json"

LOOPBACK = "127.0.0.1"
# Services only the compose variant has: Dagster as two containers (the native stack runs it as
# one `dagster dev` program).
COMPOSE_ONLY_SERVICES = frozenset({"dagster-webserver", "dagster-daemon"})
# Variables the compose file may reference although .env.example does not define them.
COMPOSE_ONLY_VARS: frozenset[str] = frozenset()
# Native ports (service, port name) that only the servers use among themselves, so compose
# keeps them inside its network: Kafka's KRaft controller listener, Flink's JobManager RPC.
INTERNAL_PORTS = frozenset({("kafka", "controller"), ("flink-jobmanager", "rpc")})
# Upstream images allowed in the compose file and in FROM lines of infra/docker/Dockerfile.*.
OFFICIAL_IMAGES = frozenset(
    {"apache/kafka", "postgres", "redis", "minio/minio", "dpage/pgadmin4", "flink", "python"}
    | {"maven"}  # the Flink image's build stage (its jars, like `make bootstrap`'s)
)
# Environment keys that hold a credential; their value must be a `${VAR:-default}` alone.
CREDENTIAL_KEY = re.compile(r"PASSWORD|SECRET|SALT|ACCESS_KEY|TOKEN")
# Settings without a default in code are the credentials (streaming/settings.py).
CREDENTIALS = tuple(
    field.alias for field in Settings.model_fields.values() if field.alias and field.is_required()
)
# `$$` (an escaped dollar), `${...}` or a bare `$NAME`
_DOLLAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_]\w*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?-)(?P<default>.*))?", re.DOTALL)
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?P<image>\S+)", re.IGNORECASE | re.MULTILINE)
_STAGE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class ComposeFile:
    raw: dict[str, Any]  # as written, `${...}` included
    resolved: dict[str, Any]  # every `${VAR:-default}` replaced by its default

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return dict(self.resolved.get("services") or {})


@dataclass(frozen=True)
class Published:
    host_ip: str | None
    host_port: int | None
    container_port: int


def _resolve_text(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["bare"]:
            return ""
        parsed = _BRACED.fullmatch(match["braced"])
        return (parsed["default"] or "") if parsed else ""

    return _DOLLAR.sub(replace, value)


def _resolve(node: Any) -> Any:
    if isinstance(node, str):
        return _resolve_text(node)
    if isinstance(node, Mapping):
        return {key: _resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item) for item in node]
    return node


def _strings(node: Any) -> Iterator[str]:
    """Every string value (compose interpolates values, never keys or comments)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def load_compose(path: Path) -> ComposeFile:
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, dict), f"{path} is not a YAML mapping"
    return ComposeFile(raw=raw, resolved=_resolve(raw))


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {name: value for name, _, value in pairs}
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def published_ports(service: Mapping[str, Any]) -> list[Published]:
    """Both compose port syntaxes: "[IP:]HOST:CONTAINER[/proto]" and the long mapping form."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            published = entry.get("published")
            ports.append(
                Published(
                    entry.get("host_ip"),
                    int(published) if published not in (None, "") else None,
                    int(entry["target"]),
                )
            )
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        host_ip = parts[0].strip("[]") if len(parts) == 3 else None
        host_port = int(parts[-2]) if len(parts) >= 2 else None
        ports.append(Published(host_ip, host_port, int(parts[-1])))
    return ports


def project_code_services(compose: ComposeFile, app_names: set[str]) -> dict[str, dict[str, Any]]:
    """The containers that run this project's Python code and read its settings."""
    wanted = app_names | {"dagster-webserver", "dagster-daemon"}
    return {name: svc for name, svc in compose.services.items() if name in wanted}


# ---- the checks: each returns a list of problems -------------------------------------------


def service_name_problems(
    compose: ComposeFile, native: list[Service], apps: list[Service]
) -> list[str]:
    names = set(compose.services)
    problems = [f"native service {s.name!r} missing" for s in native if s.name not in names]
    known = {s.name for s in native} | {s.name for s in apps} | COMPOSE_ONLY_SERVICES
    problems += [
        f"compose service {n!r} is neither native, an app service nor compose-only"
        for n in sorted(names - known)
    ]
    return problems


def native_port_problems(compose: ComposeFile, native: list[Service]) -> list[str]:
    problems = []
    for svc in native:
        compose_svc = compose.services.get(svc.name, {})
        published = {(p.host_ip, p.host_port) for p in published_ports(compose_svc)}
        for port_name, port in svc.ports.items():
            if (svc.name, port_name) in INTERNAL_PORTS:
                continue
            if (LOOPBACK, port) not in published:
                problems.append(f"{svc.name}: native {port_name} port {port} not on {LOOPBACK}")
    return problems


def loopback_problems(compose: ComposeFile) -> list[str]:
    problems = []
    for name, svc in compose.services.items():
        if svc.get("network_mode") == "host":
            problems.append(f"{name}: network_mode host bypasses the loopback binding")
        for port in published_ports(svc):
            if port.host_ip != LOOPBACK:
                problems.append(
                    f"{name}: container port {port.container_port} published on "
                    f"{port.host_ip or 'all interfaces'}, not {LOOPBACK}"
                )
    return problems


def env_name_problems(
    compose: ComposeFile, native: list[Service], apps: list[Service]
) -> list[str]:
    app_env: set[str] = set()
    for name in {s.name for s in apps}:
        app_env |= set(environment(compose.services.get(name, {})))
    problems = []
    for svc in native + apps:
        own = set(environment(compose.services.get(svc.name, {})))
        problems += [
            f"{svc.name}: {var} is in neither its compose environment nor the app services'"
            for var in svc.env_names
            if var not in own | app_env
        ]
    return problems


def variable_problems(compose: ComposeFile, example: Mapping[str, str]) -> list[str]:
    """Every `${VAR}` has a `:-` default; its name is .env.example's and so is the default."""
    problems = []
    matches = {m.group(): m for value in _strings(compose.raw) for m in _DOLLAR.finditer(value)}
    for match in matches.values():
        if match["bare"]:
            problems.append(f"${match['bare']}: use ${{VAR:-default}}, or $$ for the shell")
            continue
        if match["escaped"]:
            continue
        parsed = _BRACED.fullmatch(match["braced"])
        if not parsed or parsed["op"] != ":-":
            problems.append(f"${{{match['braced']}}}: needs the form ${{VAR:-default}}")
            continue
        name, default = parsed["name"], parsed["default"]
        if name in COMPOSE_ONLY_VARS:
            continue
        if name not in example:
            problems.append(f"${{{name}}} is not in .env.example (nor compose-only)")
        elif default != example[name]:
            problems.append(
                f"${{{name}}} defaults to {default!r}, .env.example has {example[name]!r}"
            )
    return problems


def credential_problems(compose: ComposeFile, example: Mapping[str, str]) -> list[str]:
    """Credentials only as `${VAR:-default}`: no literal value, no copy of a default elsewhere."""
    problems = []
    for name, svc in (compose.raw.get("services") or {}).items():
        for key, value in environment(svc).items():
            if CREDENTIAL_KEY.search(key) and not key.endswith("_FILE"):
                whole = _DOLLAR.fullmatch(value)
                if not (whole and whole["braced"]):
                    problems.append(f"{name}: {key} is a literal, not ${{VAR:-default}}")
    outside_defaults = [_DOLLAR.sub("", value) for value in _strings(compose.raw)]
    for cred in CREDENTIALS:
        secret = example.get(cred)
        if secret and any(secret in value for value in outside_defaults):
            problems.append(f"the value of {cred} appears as a literal in the compose file")
    return problems


def health_problems(compose: ComposeFile) -> list[str]:
    problems = []
    for name, svc in compose.services.items():
        health = svc.get("healthcheck") or {}
        test = health.get("test")
        if not test or health.get("disable") or test in (["NONE"], "NONE"):
            problems.append(f"{name}: no healthcheck")
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on without conditions")
            continue
        for dep, spec in depends.items():
            if dep not in compose.services:
                problems.append(f"{name}: depends on unknown service {dep!r}")
            if (spec or {}).get("condition") != "service_healthy":
                problems.append(f"{name}: depends on {dep!r} without condition service_healthy")
    return problems


def _repository(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":")[0]


def image_problems(compose: ComposeFile) -> list[str]:
    problems = []
    for name, svc in compose.services.items():
        build = svc.get("build")
        if build:
            context = COMPOSE_FILE.parent / (build if isinstance(build, str) else build["context"])
            dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
            if dockerfile.parent != DOCKER_DIR or not dockerfile.is_file():
                problems.append(f"{name}: builds {dockerfile}, not a Dockerfile in {DOCKER_DIR}")
        elif _repository(str(svc.get("image", ""))) not in OFFICIAL_IMAGES:
            problems.append(f"{name}: image {svc.get('image')!r} is not an allowed upstream image")
    for dockerfile in sorted(DOCKER_DIR.glob("Dockerfile*")):
        text = dockerfile.read_text()
        stages = {m.lower() for m in _STAGE.findall(text)}  # FROM <an earlier stage> is fine
        for match in _FROM.finditer(text):
            if match["image"].lower() in stages:
                continue
            if _repository(match["image"]) not in OFFICIAL_IMAGES:
                problems.append(f"{dockerfile.name}: FROM {match['image']} is not allowed")
    return problems


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(isolated_env: None) -> Settings:
    return load_settings(**{name: "unused-here" for name in CREDENTIALS})


def native_services(settings: Settings) -> list[Service]:
    with pytest.MonkeyPatch.context() as mp:
        # Names, ports and env names do not depend on where the server binaries live: pin
        # them so the test needs no PostgreSQL or Redis installed.
        mp.setattr(Tools, "postgres_bindir", staticmethod(lambda: Path("/pg/bin")))
        mp.setattr(Tools, "redis_server", staticmethod(lambda: Path("/bin/redis-server")))
        return infra_services(settings, Tools(settings.tools_dir))


@pytest.fixture(scope="module")
def native(settings: Settings) -> list[Service]:
    return native_services(settings)


@pytest.fixture(scope="module")
def apps(settings: Settings) -> list[Service]:
    return app_services(settings)


@pytest.fixture(scope="module")
def compose() -> ComposeFile:
    return load_compose(COMPOSE_FILE)


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return env_example()


# ---- the parity tests --------------------------------------------------------------------------


def test_compose_has_the_native_services_and_no_unknown_one(
    compose: ComposeFile, native: list[Service], apps: list[Service]
) -> None:
    assert service_name_problems(compose, native, apps) == []


def test_native_host_ports_are_published_on_loopback(
    compose: ComposeFile, native: list[Service]
) -> None:
    assert native_port_problems(compose, native) == []


def test_every_published_port_binds_loopback(compose: ComposeFile) -> None:
    assert loopback_problems(compose) == []


def test_native_env_names_reach_the_containers(
    compose: ComposeFile, native: list[Service], apps: list[Service]
) -> None:
    assert env_name_problems(compose, native, apps) == []


def test_variables_are_env_example_names_with_its_defaults(
    compose: ComposeFile, example: dict[str, str]
) -> None:
    assert variable_problems(compose, example) == []


def test_credentials_only_as_env_defaults(compose: ComposeFile, example: dict[str, str]) -> None:
    assert credential_problems(compose, example) == []


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    compose: ComposeFile,
) -> None:
    assert health_problems(compose) == []


def test_images_are_official_or_built_from_infra_docker(compose: ComposeFile) -> None:
    assert image_problems(compose) == []


def test_app_services_run_the_native_subcommands(compose: ComposeFile, apps: list[Service]) -> None:
    for svc in apps:
        compose_svc = compose.services[svc.name]
        subcommand = svc.command[svc.command.index("adnomaly_cli") + 1 :]
        assert compose_svc["command"] == ["adnomaly", *subcommand], svc.name
        assert compose_svc.get("restart") == "unless-stopped", svc.name
        # natively started on demand (autostart=false): under a profile, so `up` skips them
        assert bool(compose_svc.get("profiles")) == (not svc.autostart), svc.name


def test_project_containers_load_settings_with_in_network_hosts(
    compose: ComposeFile, apps: list[Service], isolated_env: None
) -> None:
    services = project_code_services(compose, {s.name for s in apps})
    assert set(services) >= {s.name for s in apps} | {"dagster-webserver", "dagster-daemon"}
    aliases = {field.alias for field in Settings.model_fields.values()}
    for name, svc in services.items():
        env = environment(svc)
        assert set(env) <= aliases, f"{name}: not settings names: {set(env) - aliases}"
        loaded = load_settings(**env)  # under isolated_env: the container's env alone
        hosts = {
            "DB_HOST": loaded.db_host,
            "KAFKA_BOOTSTRAP": loaded.kafka_bootstrap.rsplit(":", 1)[0],
            "MINIO_ENDPOINT": loaded.minio_endpoint.rsplit(":", 1)[0],
            "REDIS_HOST": loaded.redis_host,
            "FLINK_REST_URL": urlsplit(loaded.flink_rest_url).hostname,
        }
        for var, host in hosts.items():
            assert host in compose.services, f"{name}: {var} points at {host!r}"


def test_dagster_instance_reads_the_containers_env(compose: ComposeFile) -> None:
    instance = yaml.safe_load(DAGSTER_YAML.read_text())
    pg = instance["storage"]["postgres"]["postgres_db"]
    # a bare postgresql:// fails on dagster's NOTIFY (see the comment in infra/docker/dagster.yaml)
    assert pg["scheme"] == "postgresql+psycopg2"
    names = {value["env"] for value in pg.values() if isinstance(value, Mapping)}
    for service in ("dagster-webserver", "dagster-daemon"):
        assert names <= set(environment(compose.services[service])), service


def test_pgadmin_registers_the_compose_postgres(example: dict[str, str]) -> None:
    (server,) = json.loads(PGADMIN_SERVERS.read_text())["Servers"].values()
    assert (server["Host"], server["Port"]) == ("postgres", 5432)
    assert server["MaintenanceDB"] == example["DB_NAME"]
    assert server["Username"] == example["DB_USER"]


# ---- the checks fail on a broken file ---------------------------------------------------------


def _drop_redis(doc: dict[str, Any]) -> None:
    del doc["services"]["redis"]
    for svc in doc["services"].values():
        (svc.get("depends_on") or {}).pop("redis", None)


def _kafka_on_all_interfaces(doc: dict[str, Any]) -> None:
    doc["services"]["kafka"]["ports"] = ["29092:29092"]


def _minio_console_on_other_ip(doc: dict[str, Any]) -> None:
    wildcard = "0.0.0.0"  # noqa: S104 (the breakage under test)
    doc["services"]["minio"]["ports"][1] = {"target": 9001, "published": 9001, "host_ip": wildcard}


def _unknown_service(doc: dict[str, Any]) -> None:
    doc["services"]["kafka-ui"] = copy.deepcopy(doc["services"]["pgadmin"])


def _password_literal(doc: dict[str, Any]) -> None:
    doc["services"]["redis"]["environment"]["REDIS_PASSWORD"] = "a-literal-" + "password"


def _variable_not_in_env_example(doc: dict[str, Any]) -> None:
    doc["services"]["redis"]["environment"]["REDIS_PASSWORD"] = "${REDIS_PASS:-x}"


def _drop_db_password_from_apps(doc: dict[str, Any]) -> None:
    for svc in doc["services"].values():
        env = svc.get("environment")
        if isinstance(env, dict) and "HASH_SALT" in env:
            svc["environment"] = {k: v for k, v in env.items() if k != "DB_PASSWORD"}
    del doc["services"]["postgres"]["environment"]["DB_PASSWORD"]


def _no_healthcheck(doc: dict[str, Any]) -> None:
    del doc["services"]["minio"]["healthcheck"]


def _depends_without_condition(doc: dict[str, Any]) -> None:
    doc["services"]["flink-taskmanager"]["depends_on"] = ["flink-jobmanager"]


def _third_party_image(doc: dict[str, Any]) -> None:
    doc["services"]["kafka"]["image"] = "bitnami/kafka:4.0"


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing service": (_drop_redis, "native service 'redis' missing"),
    "port on all interfaces": (_kafka_on_all_interfaces, "published on all interfaces"),
    "port on another ip": (_minio_console_on_other_ip, "published on 0.0.0.0"),
    "unknown service": (_unknown_service, "'kafka-ui' is neither native"),
    "credential literal": (_password_literal, "REDIS_PASSWORD is a literal"),
    "variable not in .env.example": (_variable_not_in_env_example, "REDIS_PASS} is not in"),
    "env name missing": (_drop_db_password_from_apps, "DB_PASSWORD is in neither"),
    "no healthcheck": (_no_healthcheck, "minio: no healthcheck"),
    "depends_on without condition": (_depends_without_condition, "without conditions"),
    "third-party image": (_third_party_image, "'bitnami/kafka:4.0' is not an allowed"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_checks_catch_a_broken_copy(
    breakage: str,
    tmp_path: Path,
    native: list[Service],
    apps: list[Service],
    example: dict[str, str],
) -> None:
    edit, expected = BREAKAGES[breakage]
    doc = copy.deepcopy(load_compose(COMPOSE_FILE).raw)
    edit(doc)
    broken_file = tmp_path / "docker-compose.yml"
    broken_file.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    broken = load_compose(broken_file)
    problems = [
        *service_name_problems(broken, native, apps),
        *native_port_problems(broken, native),
        *loopback_problems(broken),
        *env_name_problems(broken, native, apps),
        *variable_problems(broken, example),
        *credential_problems(broken, example),
        *health_problems(broken),
        *image_problems(broken),
    ]
    assert any(expected in problem for problem in problems), problems


def test_native_dagster_matches_the_compose_webserver(
    compose: ComposeFile, settings: Settings
) -> None:
    """The native stack runs `dagster dev` as one program; compose splits it into webserver and
    daemon. Same UI port on loopback, same instance-storage variables."""
    from adnomaly_ops.stack.services import dagster_service

    native = dagster_service(settings)
    web = compose.services["dagster-webserver"]
    published = {(p.host_ip, p.host_port) for p in published_ports(web)}
    assert (LOOPBACK, native.ports["ui"]) in published
    names = set(environment(web))
    assert set(native.env_names) <= names, set(native.env_names) - names


def test_compose_prometheus_scrapes_what_the_native_one_does() -> None:
    """The same jobs (Kafka's JMX agent included), so the alert rules see the same series."""
    from adnomaly_ops.stack.render import APP_JOBS

    native_text = (PROJECT_ROOT / "infra" / "native" / "prometheus.yml").read_text()
    native_jobs = set(re.findall(r"job_name: ([\w-]+)", native_text)) | set(APP_JOBS)
    compose_doc = yaml.safe_load((DOCKER_DIR / "monitoring" / "prometheus.yml").read_text())
    assert {job["job_name"] for job in compose_doc["scrape_configs"]} == native_jobs
    kafka = load_compose(COMPOSE_FILE).services["kafka"]
    agent = environment(kafka)["KAFKA_OPTS"]
    assert agent.startswith("-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9410:")
    mounts = {str(v).split(":")[1] for v in kafka["volumes"]}
    assert {"/opt/jmx-exporter", "/adnomaly/jmx-exporter.yaml"} <= mounts
