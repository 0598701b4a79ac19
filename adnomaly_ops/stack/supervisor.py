"""A thin client for the stack's supervisord (XML-RPC over its unix socket)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from streaming.settings import Settings


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.dir = settings.state_dir / "supervisor"
        self.conf = self.dir / "supervisord.conf"
        self.socket = self.dir / "supervisor.sock"
        self.pidfile = self.dir / "supervisord.pid"

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def running(self) -> bool:
        if self.pid() is None or not self.socket.exists():
            return False
        try:
            return cast(str, self._proxy().supervisor.getState()["statename"]) == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def start_daemon(self, deadline_s: float = 30.0) -> None:
        """Launch supervisord (it daemonizes itself) with default signal handlers restored,
        since a non-interactive parent may have left SIGINT/SIGTERM ignored."""

        def _reset_signals() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os.setsid()

        supervisord = Path(sys.executable).parent / "supervisord"
        subprocess.run(
            [str(supervisord), "-c", str(self.conf)],
            check=True,
            preexec_fn=_reset_signals,
        )
        end = time.monotonic() + deadline_s
        while not self.running():
            if time.monotonic() > end:
                raise TimeoutError(f"supervisord did not answer on {self.socket} in {deadline_s}s")
            time.sleep(0.2)

    def update(self) -> None:
        """Reload the rendered config: add new programs, restart changed ones."""
        proxy = self._proxy()
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
        for name in removed:
            proxy.supervisor.stopProcessGroup(name)
            proxy.supervisor.removeProcessGroup(name)
        for name in changed:
            proxy.supervisor.stopProcessGroup(name)
            proxy.supervisor.removeProcessGroup(name)
            proxy.supervisor.addProcessGroup(name)
        for name in added:
            proxy.supervisor.addProcessGroup(name)

    def start(self, name: str) -> None:
        try:
            self._proxy().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, name: str) -> None:
        try:
            self._proxy().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise

    def processes(self) -> dict[str, dict[str, Any]]:
        if not self.running():
            return {}
        infos = self._proxy().supervisor.getAllProcessInfo()
        return {info["name"]: info for info in infos}

    def shutdown(self, deadline_s: float = 120.0) -> None:
        """Stop every program in reverse start order and supervisord itself; wait for its exit."""
        pid = self.pid()
        if pid is None:
            return
        if self.running():
            proxy = self._proxy()
            proxy.supervisor.stopAllProcesses(True)
            proxy.supervisor.shutdown()
        else:
            os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + deadline_s
        while self.pid() is not None:
            if time.monotonic() > end:
                raise TimeoutError(f"supervisord (pid {pid}) still running after {deadline_s}s")
            time.sleep(0.2)
