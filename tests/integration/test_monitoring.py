"""Monitoring on the real servers: every exporter answers /metrics, Prometheus has every target
up, and a killed sink's alert fires in Prometheus within 60 s, then resolves after its restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from adnomaly_ops.stack.supervisor import Supervisor
from streaming.prometheus_api import StreamFigures, stream_figures
from streaming.settings import Settings, child_env

# the first test starts the stack and five services: slower than the default 600 s on a loaded
# machine, which the waits below allow for
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
T = TypeVar("T")
APPS = ("generator", "db-sink", "lake-sink", "feast-ingestor", "detector")
# Starting five Python services (each imports pandas, pyarrow, Kafka and Feast) takes seconds on
# a quiet machine and minutes on a loaded one; the 60 s of the alert test start after that.
START_S = 420


def _get(url: str, timeout_s: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (loopback URLs)
        return str(resp.read().decode())


def _prom(settings: Settings, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    body = json.loads(_get(f"{settings.prometheus_url}/api/v1/{path}{query}"))
    assert body["status"] == "success", body
    return body["data"]


def _wait(check: Callable[[], T | None], deadline_s: float, what: str) -> T:
    end = time.monotonic() + deadline_s
    while True:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline_s:.0f}s: {what}")
        time.sleep(1)


def _targets(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    by_job: dict[str, list[dict[str, Any]]] = {}
    for target in _prom(settings, "targets", state="active")["activeTargets"]:
        by_job.setdefault(target["labels"]["job"], []).append(target)
    return by_job


def _firing(settings: Settings, alert: str, job: str) -> list[dict[str, Any]]:
    return [
        a
        for a in _prom(settings, "alerts")["alerts"]
        if a["labels"]["alertname"] == alert and a["labels"].get("job") == job
    ]


@pytest.fixture(scope="module")
def apps(stack: Settings) -> Iterator[Supervisor]:
    """Every project service running under the stack's supervisor (the Feast repo applied
    first: the ingestor needs its registry)."""
    subprocess.run(
        [sys.executable, "-m", "adnomaly_cli", "features", "apply"],
        env=child_env(stack),
        check=True,
        capture_output=True,
        timeout=300,
    )
    sup = Supervisor(stack)
    for name in APPS:
        sup.start(name)
    yield sup
    for name in APPS:
        sup.stop(name)


def test_every_exporter_answers_and_every_target_is_up(stack: Settings, apps: Supervisor) -> None:
    expected = {
        "prometheus",
        "alertmanager",
        "kafka",
        "postgres",
        "redis",
        "minio",
        "flink",
        *APPS,
    }

    def all_up() -> dict[str, list[dict[str, Any]]] | None:
        jobs = _targets(stack)
        up = all(t["health"] == "up" for job in expected for t in jobs.get(job, [{}]))
        return jobs if up and expected <= set(jobs) else None

    try:
        jobs = _wait(all_up, START_S, f"every target of {sorted(expected)} up in Prometheus")
    except AssertionError as exc:
        down = {
            t["scrapeUrl"]: t["lastError"]
            for targets in _targets(stack).values()
            for t in targets
            if t["health"] != "up"
        }
        raise AssertionError(f"{exc}; not up: {down}") from None
    assert set(jobs) == expected, set(jobs) ^ expected
    # and each exporter answers us too, in Prometheus's text format (the rendered config's
    # targets: the profile's processes, each on 127.0.0.1)
    for job, targets in jobs.items():
        for target in targets:
            url = target["scrapeUrl"]
            assert url.startswith("http://127.0.0.1:"), url
            # an exporter gathers its figures per request (the Flink exporter asks the REST
            # API, the JMX agent the broker's MBeans): seconds on a busy machine
            text = _get(url, timeout_s=30)
            assert "# TYPE" in text or (job == "minio" and "minio_" in text), f"{job}: {url}"
    # the figures the stream services export reach Prometheus with their service label
    written = _wait(
        lambda: _prom(
            stack, "query", query='adnomaly_stream_records_written_total{service="db-sink"} > 0'
        )["result"],
        START_S,
        "the db sink's written count in Prometheus",
    )
    assert written[0]["metric"]["instance"] == "db-sink-1"

    def arriving() -> StreamFigures | None:
        figures = stream_figures(stack)
        return figures if figures.events_per_s and figures.newest_event_age_s else None

    # the broker's count is scraped every 15 s: its rate needs two samples after the start
    figures = _wait(arriving, 60, "events/s and the newest event from Prometheus")
    assert {stack.db_sink_group, stack.lake_sink_group} <= set(figures.lags), figures
    assert 0 <= figures.newest_event_age_s < 120, figures  # type: ignore[operator]
    assert figures.dlq_growth == 0, figures


def test_killed_sink_alerts_within_60s_then_resolves(stack: Settings, apps: Supervisor) -> None:
    _wait(
        lambda: _prom(stack, "query", query='up{job="db-sink"} == 1')["result"],
        START_S,
        "db-sink scraped up",
    )
    # an earlier test's db sink on the same metrics port (test_dagster_assets' stuck sink) may
    # have left ServiceDown firing; it resolves at the rules' first evaluation after the scrape
    _wait(
        lambda: not _firing(stack, "ServiceDown", "db-sink") or None,
        60,
        "no ServiceDown for db-sink before the kill",
    )
    pid = int(apps.processes()["db-sink"]["pid"])
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    # The supervisor restarts a killed program within seconds; stopping it keeps it down, as a
    # sink that crashes on start again would stay.
    apps.stop("db-sink")
    alerts = _wait(
        lambda: [a for a in _firing(stack, "ServiceDown", "db-sink") if a["state"] == "firing"],
        60 - (time.monotonic() - killed),
        "ServiceDown firing for db-sink",
    )
    print(f"ServiceDown for db-sink firing {time.monotonic() - killed:.0f}s after the kill")
    assert alerts[0]["labels"]["severity"] == "critical"
    apps.start("db-sink")
    restarted = time.monotonic()
    _wait(
        lambda: not _firing(stack, "ServiceDown", "db-sink") or None,
        60,
        "ServiceDown for db-sink resolved after the restart",
    )
    print(f"resolved {time.monotonic() - restarted:.0f}s after the restart")
