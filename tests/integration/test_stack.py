"""The native stack as a user meets it: healthy, loopback-only, self-healing, re-runnable."""

from __future__ import annotations

import ipaddress
import os
import signal

import psutil
import pytest

from adnomaly_ops.stack import native
from streaming.settings import Settings
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration

SERVERS = ["kafka", "postgres", "redis", "minio", "flink-jobmanager", "flink-taskmanager"]


def _rows(settings: Settings) -> dict[str, native.ServiceStatus]:
    return {r.name: r for r in native.status(settings)}


def test_every_server_is_healthy(stack: Settings) -> None:
    rows = _rows(stack)
    for name in SERVERS:
        assert rows[name].state == "RUNNING", rows[name]
        assert rows[name].healthy, rows[name]
        assert rows[name].pid


def test_servers_listen_on_loopback_only(stack: Settings) -> None:
    rows = _rows(stack)
    pids: set[int] = set()
    for name in SERVERS:
        proc = psutil.Process(rows[name].pid)
        pids |= {proc.pid, *(c.pid for c in proc.children(recursive=True))}
    listening = [
        c for c in psutil.net_connections(kind="inet") if c.status == "LISTEN" and c.pid in pids
    ]
    assert listening, "no listening sockets found for the stack"
    exposed = [(c.pid, c.laddr) for c in listening if not _loopback(c.laddr.ip)]
    assert not exposed, f"sockets bound beyond loopback: {exposed}"
    ports = {c.laddr.port for c in listening}
    for name in SERVERS:
        for port in rows[name].ports.values():
            assert port in ports, f"{name} not listening on {port}"


def _loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped.is_loopback  # JVMs report IPv4 binds as ::ffff:127.0.0.1
    return addr.is_loopback


def test_up_twice_is_harmless(stack: Settings) -> None:
    before = {n: r.pid for n, r in _rows(stack).items() if n in SERVERS}
    native.up(stack)
    after = {n: r.pid for n, r in _rows(stack).items() if n in SERVERS}
    assert after == before


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_sigkilled_server_comes_back(stack: Settings, name: str) -> None:
    old_pid = _rows(stack)[name].pid
    assert old_pid
    os.kill(old_pid, signal.SIGKILL)

    def back() -> bool:
        row = _rows(stack)[name]
        return row.pid not in (None, old_pid) and row.healthy

    wait_for(back, 60, f"{name} restarted by the supervisor and healthy")
    native.wait_healthy(stack, [s for s in _services(stack) if s.name in SERVERS], 60)


def _services(settings: Settings) -> list:  # type: ignore[type-arg]
    from adnomaly_ops.stack.services import infra_services
    from adnomaly_ops.stack.tools import tools_for

    return infra_services(settings, tools_for(settings))
