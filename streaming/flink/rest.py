"""The few calls of the JobManager's REST API the project needs: list, inspect, cancel, wait.

The REST API is the cluster's own record of which jobs exist, so it (not a pid file of ours)
decides whether a job is already running.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Final

# Every state but these three can still (again) run tasks, so it counts as "a copy running".
TERMINAL: Final = frozenset({"FINISHED", "CANCELED", "FAILED"})


class FlinkRestError(ConnectionError):
    """The JobManager's REST API could not be reached or answered with an error."""


@dataclass(frozen=True)
class JobSummary:
    jid: str
    name: str
    state: str
    start_time_ms: int

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL


class FlinkRest:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, path: str, method: str = "GET", body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        url = self.base_url + path
        request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:  # noqa: S310
                answer = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise FlinkRestError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise FlinkRestError(f"Flink REST API at {self.base_url} unreachable: {exc}") from None
        return json.loads(answer) if answer else None

    def jobs(self) -> list[JobSummary]:
        return [
            JobSummary(j["jid"], j["name"], j["state"], int(j["start-time"]))
            for j in self._call("/jobs/overview")["jobs"]
        ]

    def active_named(self, name: str) -> list[JobSummary]:
        return [job for job in self.jobs() if job.name == name and job.active]

    def job(self, jid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(f"/jobs/{jid}")
        return result

    def checkpoints(self, jid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(f"/jobs/{jid}/checkpoints")
        return result

    def subtask_times(self, jid: str, vertex_id: str) -> list[dict[str, Any]]:
        """Per subtask, the epoch-ms moment it entered each execution state."""
        result: list[dict[str, Any]] = self._call(f"/jobs/{jid}/vertices/{vertex_id}/subtasktimes")[
            "subtasks"
        ]
        return result

    def taskmanagers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("/taskmanagers")["taskmanagers"]
        return result

    def vertex_metric_sum(self, jid: str, vertex_id: str, suffix: str) -> float | None:
        """The sum over a vertex's subtasks of the operator metrics ending in `suffix` (e.g.
        `.pendingRecords`); None when the vertex has no such metric."""
        base = f"/jobs/{jid}/vertices/{vertex_id}/subtasks/metrics"
        names = [m["id"] for m in self._call(base) if m["id"].endswith(suffix)]
        if not names:
            return None
        values = self._call(f"{base}?get={','.join(names)}&agg=sum")
        return float(sum(float(v.get("sum", 0.0)) for v in values))

    def cancel(self, jid: str) -> None:
        self._call(f"/jobs/{jid}?mode=cancel", method="PATCH")

    def stop_with_savepoint(self, jid: str, deadline_s: float) -> str:
        """Stop the job after a savepoint (into the cluster's savepoint dir); its location is
        what a replacement restores its window state and offsets from."""
        trigger = self._call(f"/jobs/{jid}/stop", "POST", {"drain": False})["request-id"]
        end = time.monotonic() + deadline_s
        while True:
            result = self._call(f"/jobs/{jid}/savepoints/{trigger}")
            if result["status"]["id"] == "COMPLETED":
                operation = result["operation"]
                if "location" not in operation:
                    cause = operation.get("failure-cause", {}).get("stack-trace", "unknown")
                    raise FlinkRestError(f"savepoint of {jid} failed: {cause.splitlines()[0]}")
                location: str = operation["location"]
                return location
            if time.monotonic() > end:
                raise TimeoutError(f"savepoint of {jid} not complete after {deadline_s:.0f}s")
            time.sleep(0.5)

    def wait_state(self, jid: str, states: set[str], deadline_s: float) -> dict[str, Any]:
        """Poll until the job is in one of `states`; a job that fails instead says why."""
        end = time.monotonic() + deadline_s
        while True:
            job = self.job(jid)
            if job["state"] in states:
                return job
            if job["state"] in TERMINAL:
                raise FlinkRestError(f"job {jid} ended {job['state']}: {self.root_cause(jid)}")
            if time.monotonic() > end:
                raise TimeoutError(f"job {jid} still {job['state']} after {deadline_s:.0f}s")
            time.sleep(0.5)

    def wait_tasks_running(self, jid: str, deadline_s: float) -> None:
        """A RUNNING job may still be deploying its tasks; wait until every vertex runs."""
        end = time.monotonic() + deadline_s
        while True:
            job = self.wait_state(jid, {"RUNNING"}, max(0.0, end - time.monotonic()))
            if job["status-counts"].get("RUNNING", 0) == len(job["vertices"]):
                return
            if time.monotonic() > end:
                raise TimeoutError(f"job {jid}: tasks not all running after {deadline_s:.0f}s")
            time.sleep(0.5)

    def root_cause(self, jid: str) -> str:
        entries = self._call(f"/jobs/{jid}/exceptions").get("exceptionHistory", {}).get("entries")
        if not entries:
            return "no exception recorded"
        first_line: str = entries[0].get("stacktrace", "").strip().splitlines()[0]
        return first_line
