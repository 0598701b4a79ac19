"""Prometheus metrics of the Flink cluster, read from its REST API and served on 127.0.0.1.

Flink's own Prometheus reporter serves on every interface and has no bind-address option, so
the stack scrapes this instead. The families keep the reporter's names, so the alert rules and
readers need not know which one serves them. A scrape while the REST API is unreachable fails
(HTTP 500), so Prometheus sees the target down, as it would see a dead reporter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streaming.flink.rest import FlinkRest

log = logging.getLogger("adnomaly.flink-exporter")
LABELS = ["job_name", "job_id"]


class FlinkCollector(Collector):
    def __init__(self, rest: FlinkRest) -> None:
        self.rest = rest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        uptime = GaugeMetricFamily(
            "flink_jobmanager_job_uptime", "ms since the running job started", labels=LABELS
        )
        failed = GaugeMetricFamily(
            "flink_jobmanager_job_numberOfFailedCheckpoints", "failed checkpoints", labels=LABELS
        )
        completed = GaugeMetricFamily(
            "flink_jobmanager_job_numberOfCompletedCheckpoints",
            "completed checkpoints",
            labels=LABELS,
        )
        pending = GaugeMetricFamily(
            "flink_taskmanager_job_task_operator_pendingRecords",
            "records the job's sources have yet to read (Kafka lag), summed over subtasks",
            labels=LABELS,
        )
        taskmanagers = GaugeMetricFamily(
            "flink_jobmanager_numRegisteredTaskManagers", "TaskManagers registered"
        )
        now_ms = time.time() * 1000
        for job in self.rest.jobs():
            if job.state != "RUNNING":
                continue
            labels = [job.name, job.jid]
            uptime.add_metric(labels, max(0.0, now_ms - job.start_time_ms))
            counts = self.rest.checkpoints(job.jid)["counts"]
            failed.add_metric(labels, float(counts["failed"]))
            completed.add_metric(labels, float(counts["completed"]))
            backlog = [
                self.rest.vertex_metric_sum(job.jid, v["id"], ".pendingRecords")
                for v in self.rest.job(job.jid)["vertices"]
                if v["name"].startswith("Source")
            ]
            known = [b for b in backlog if b is not None]
            if known:
                pending.add_metric(labels, sum(known))
        taskmanagers.add_metric([], float(len(self.rest.taskmanagers())))
        yield from (uptime, failed, completed, pending, taskmanagers)


def serve(rest_url: str, port: int, host: str = "127.0.0.1") -> None:
    """Serve until the process is stopped (a supervised service)."""
    registry = CollectorRegistry()
    registry.register(FlinkCollector(FlinkRest(rest_url, timeout_s=5.0)))
    start_http_server(port, addr=host, registry=registry)
    log.info("Flink metrics on http://%s:%d/metrics", host, port)
    while True:
        time.sleep(3600)
