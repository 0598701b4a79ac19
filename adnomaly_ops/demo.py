"""`adnomaly demo`: the whole pipeline from a fresh clone, for a bounded time, then a summary.

Steps: stack up; topics and schema; Flink job; Feast apply; a few simulated hours of history
through the real pipeline; the detector's model trained from those features by the Dagster asset
(so the run shows in the UI); then live traffic with every service running and one fraud
incident of each scenario injected into it (demo_fraud.py), watched for `seconds` with the
alerts as they arrive; a table of each incident injected, whether and how soon it was caught;
Dagster materializations of the warehouse, the lake and the day's live model quality; an online
feature lookup. Services stay up afterwards (`make down` stops them); live traffic ends with
the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from adnomaly_ops import demo_fraud
from adnomaly_ops.stack import native
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.detection.store import list_versions, promote_version
from streaming.generator import TrafficGenerator
from streaming.incidents.quality import Quality
from streaming.incidents.quality_reads import live_quality
from streaming.incidents.queries import Filters, list_incidents
from streaming.kafka.inspect import topic_size
from streaming.kafka.topics import ensure_topics
from streaming.s3 import s3_client
from streaming.settings import Settings, child_env

PIPELINE = ("db-sink", "lake-sink", "feast-ingestor")
# simulated mean events/s of the history and of the demo's live traffic: the model learns the
# level it is trained on, so the live part keeps to it
RATE_EPS = 30.0
LIVE = ("detector", "ui")


@dataclass
class DemoResult:
    snapshot: Snapshot
    quality: Quality  # the injected incidents, caught or not


@dataclass
class Snapshot:
    in_kafka: int
    in_postgres: int
    lake_objects: int
    lake_bytes: int
    labels: int
    feature_rows: int
    anomalies: int


def _count(settings: Settings, query: str) -> int:
    with connect(settings) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def snapshot(settings: Settings) -> Snapshot:
    objects, size = 0, 0
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.minio_bucket, Prefix="clickstream/"):
        for obj in page.get("Contents", []):
            objects, size = objects + 1, size + obj["Size"]
    return Snapshot(
        in_kafka=topic_size(settings, settings.topic),
        in_postgres=_count(settings, "SELECT count(*) FROM clickstream_events"),
        lake_objects=objects,
        lake_bytes=size,
        labels=_count(settings, "SELECT count(*) FROM fraud_labels"),
        feature_rows=_count(settings, "SELECT count(*) FROM feature_aggregates"),
        anomalies=_count(
            settings, "SELECT count(*) FROM anomaly_results WHERE is_anomaly AND role = 'champion'"
        ),
    )


def _table(snap: Snapshot, title: str) -> Table:
    table = Table(title=title)
    cols = (
        "events in Kafka",
        "in PostgreSQL",
        "lake objects",
        "lake MiB",
        "fraud incidents",
        "feature rows",
        "anomalous windows",
    )
    for col in cols:
        table.add_column(col, justify="right")
    table.add_row(
        f"{snap.in_kafka:,}",
        f"{snap.in_postgres:,}",
        f"{snap.lake_objects:,}",
        f"{snap.lake_bytes / 2**20:.1f}",
        f"{snap.labels:,}",
        f"{snap.feature_rows:,}",
        f"{snap.anomalies:,}",
    )
    return table


def _cli(settings: Settings, *args: str, timeout: float = 600) -> str:
    """One `adnomaly` command with this stack's settings; a failure stops the demo, named."""
    proc = subprocess.run(
        [sys.executable, "-m", "adnomaly_cli", *args],
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"`adnomaly {' '.join(args)}` failed: {proc.stderr[-800:]}")
    return proc.stdout


def _dagster(settings: Settings, select: str, partition: str | None = None) -> None:
    """`dagster asset materialize` against the stack's instance, so the run is in the UI."""
    env = child_env(settings, DAGSTER_HOME=str(settings.state_dir / "dagster"))
    argv = [
        os.path.join(os.path.dirname(sys.executable), "dagster"),
        "asset",
        "materialize",
        "-m",
        "adnomaly_dagster.definitions",
        "--select",
        select,
    ]
    argv += ["--partition", partition] if partition else []
    proc = subprocess.run(
        argv,
        env=env,
        cwd=settings.state_dir / "dagster",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0 or "RUN_SUCCESS" not in proc.stderr + proc.stdout:
        raise RuntimeError(f"dagster materialize {select} failed: {proc.stderr[-800:]}")


def _wait(what: str, done: Callable[[], bool], deadline_s: float, console: Console) -> None:
    end = time.monotonic() + deadline_s
    with console.status(what):
        while not done():
            if time.monotonic() > end:
                raise TimeoutError(f"{what} not done within {deadline_s:.0f}s")
            time.sleep(2)


def _prepare(settings: Settings, history: str, console: Console) -> None:
    """Stack, topics, schema, Flink job, Feast, history through the pipeline, a trained model."""
    with console.status("starting the stack (Kafka, PostgreSQL, Redis, MinIO, Flink, Dagster)…"):
        native.up(settings)
        ensure_topics(settings)
        with connect(settings) as conn:
            migrate(conn)
    console.print("stack up; submitting the Flink job and applying the Feast repo")
    _cli(settings, "flink", "submit")
    _cli(settings, "features", "apply")
    sup = Supervisor(settings)
    for name in PIPELINE:
        sup.start(name)
    console.print(f"producing {history} of history through the pipeline")
    _cli(settings, "gen", "--history", history, "--history-rate", f"{RATE_EPS:g}", timeout=900)
    produced = topic_size(settings, settings.topic)

    def caught_up() -> bool:
        stored = _count(settings, "SELECT count(*) FROM clickstream_events")
        return (
            stored >= produced and _count(settings, "SELECT count(*) FROM feature_aggregates") > 0
        )

    _wait("sinks and Flink catching up with the history…", caught_up, 900, console)
    with console.status("training the detector's model (Dagster asset fraud_model)…"):
        _dagster(settings, "fraud_model")
    # a new version starts as challenger; the demo shows what this very model catches
    newest = list_versions(settings)[-1]
    promote_version(newest, settings, "demo")
    console.print(f"detector model {newest}: champion")


def _live_view(
    settings: Settings, plan: list[demo_fraud.FraudIncident], start: datetime, title: str
) -> Group:
    with connect(settings) as conn:
        queue = list_incidents(conn, Filters(since=start))
        quality = live_quality(conn, (start, start + timedelta(days=1)), datetime.now(UTC))
    return Group(
        _table(snapshot(settings), title),
        demo_fraud.injected_table(plan, quality, datetime.now(UTC)),
        demo_fraud.alerts_table(queue),
    )


def _live(settings: Settings, seconds: float, console: Console) -> tuple[Snapshot, Quality]:
    """Live traffic with every scenario injected, for `seconds`. The supervised generator is
    held off (two generators would double the traffic, and it runs at EVENTS_PER_SEC, not at
    the level the demo's model learnt)."""
    sup = Supervisor(settings)
    sup.stop("generator")
    gen = TrafficGenerator(7, settings.hash_salt.get_secret_value(), fraud=False)
    start = datetime.now(UTC).replace(microsecond=0)
    plan = demo_fraud.plan_incidents(start, seconds, gen)
    gen.scheduler = demo_fraud.ScriptedIncidents(gen, plan)
    for name in LIVE:
        sup.start(name)
    traffic = demo_fraud.LiveTraffic(settings, gen, RATE_EPS)
    traffic.start()
    t0 = time.monotonic()
    try:
        with Live(_live_view(settings, plan, start, "live"), console=console) as live:
            while (elapsed := time.monotonic() - t0) < seconds:
                time.sleep(2)  # refresh cadence of the live view, not a wait for a state
                title = f"Adnomaly demo: live, {elapsed:.0f}s of {seconds:.0f}s"
                live.update(_live_view(settings, plan, start, title))
    finally:
        traffic.stop()
    end = datetime.now(UTC)
    with connect(settings) as conn:
        quality = live_quality(conn, (start, end))
    return snapshot(settings), quality


def run(settings: Settings, seconds: float, history: str, console: Console) -> DemoResult:
    demo_fraud.check_seconds(seconds)  # before minutes of setup, not after
    _prepare(settings, history, console)
    snap, quality = _live(settings, seconds, console)
    today = datetime.now(UTC)
    with console.status("Dagster: warehouse day, lake hour, live model quality…"):
        day = "warehouse_daily_stats,warehouse_hourly_traffic,detection_live_quality"
        _dagster(settings, day, f"{today:%Y-%m-%d}")
        _dagster(settings, "lake_hourly_parquet", f"{today:%Y-%m-%d-%H}:00")
    console.print(_table(snap, "Adnomaly demo: pipeline"))
    console.print(demo_fraud.caught_table(quality))
    console.print(_cli(settings, "features", "test"))
    console.print(urls(settings))
    console.print(
        "The services keep running (`make status`, `make down` stops them); live traffic ended "
        "with the demo: `uv run adnomaly stack start generator` resumes it at EVENTS_PER_SEC."
    )
    return DemoResult(snap, quality)


def urls(settings: Settings) -> Table:
    table = Table(title="Web interfaces")
    for col in ("what", "URL", "login"):
        table.add_column(col)
    table.add_row(
        "Incidents app (the alerts above, verdicts)",
        f"http://127.0.0.1:{settings.ui_port}",
        f"{settings.ui_user} / UI_PASSWORD from .env",
    )
    table.add_row("Dagster", f"http://127.0.0.1:{settings.dagster_port}", "-")
    table.add_row("Flink UI", settings.flink_rest_url, "-")
    table.add_row(
        "pgAdmin",
        f"http://127.0.0.1:{settings.pgadmin_port}",
        f"{settings.pgadmin_email} / PGADMIN_PASSWORD from .env",
    )
    table.add_row(
        "MinIO console",
        f"http://127.0.0.1:{settings.minio_console_port}",
        f"{settings.minio_access_key} / MINIO_SECRET_KEY from .env",
    )
    table.add_row(
        "PostgreSQL",
        f"postgresql://{settings.db_user}@{settings.db_host}:{settings.db_port}/{settings.db_name}",
        "DB_PASSWORD from .env",
    )
    return table
