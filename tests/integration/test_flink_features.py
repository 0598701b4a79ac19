"""The features job on the suite's Flink cluster: every window equals an independent pandas
computation, one copy runs however often it is submitted, and records that are malformed or
behind the watermark are counted instead of failing the job or entering a window."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer
from psycopg import sql

from adnomaly_ops.stack.supervisor import Supervisor
from streaming.contract import ClickEvent
from streaming.db.connect import connect
from streaming.feature_contract import FEATURE_NAMES, SUSPICIOUS_UA_MARKERS, parse_feature_row
from streaming.flink.config import JobConfig
from streaming.flink.rest import FlinkRest
from streaming.flink.submit import submit
from streaming.flink.tables import drop_tables
from streaming.generator import TrafficGenerator
from streaming.kafka.config import producer_config
from streaming.settings import Settings
from tests.integration.helpers import read_all, unique_topic, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2031, 3, 1, 12, tzinfo=UTC)
SIZE, SLIDE, LATENESS = timedelta(minutes=5), timedelta(minutes=1), timedelta(seconds=10)
CLOSE = T0 + timedelta(minutes=17) + LATENESS + timedelta(seconds=1)  # fires every window
PARTITIONS = 3
KEY_COLS = ["geo", "platform", "window_start", "window_end"]
MALFORMED = [  # parseable but outside the contract: each must be counted `invalid`
    b'{"event_id": "a", "geo": "US"}',
    b'{"timestamp": "yesterday", "geo": "US", "platform": "web"}',
]


def events(seed: int, n: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Contract-valid events with repeat users and a mix of bot user agents in any case."""
    frame = TrafficGenerator(seed, "salt", fraud=False, users_per_segment=6).batch(n, start, end)
    df = frame.to_frame().drop(columns="incident_id")
    bots = np.arange(len(df)) % 7 == 0
    markers = [m.upper() if i % 2 else m.title() for i, m in enumerate(SUSPICIOUS_UA_MARKERS)]
    df.loc[bots, "user_agent"] = [
        f"Mozilla/5.0 ({markers[i % len(markers)]})" for i in range(int(bots.sum()))
    ]
    return df


def wire(df: pd.DataFrame) -> list[tuple[bytes, bytes]]:
    records = df.to_dict("records")
    return [
        (f"{r['geo']}|{r['platform']}".encode(), ClickEvent(**r).to_json_bytes()) for r in records
    ]


def produce(
    settings: Settings, topic: str, pairs: list[tuple[bytes, bytes]], partition: int | None = None
) -> None:
    producer = Producer(producer_config(settings, "test-flink"))
    for key, value in pairs:
        producer.produce(
            topic, value, key, **({} if partition is None else {"partition": partition})
        )
    assert producer.flush(30) == 0


def closing(settings: Settings, topic: str, at: datetime, seed: int) -> pd.DataFrame:
    """One event per partition at `at`, so the watermark (the minimum over partitions) moves."""
    df = events(seed, PARTITIONS, at, at + timedelta(milliseconds=1)).assign(
        geo="LU", platform="web"
    )
    df["timestamp"] = pd.Timestamp(at)
    for partition, pair in enumerate(wire(df)):
        produce(settings, topic, [pair], partition)
    return df


def expected_windows(df: pd.DataFrame, watermark: datetime) -> pd.DataFrame:
    """Hopping windows by hand: an event is in the SIZE/SLIDE windows starting at its floor to
    the slide and the SIZE - SLIDE before; a window is out once the watermark reaches its end."""
    pattern = "|".join(re.escape(m) for m in SUSPICIOUS_UA_MARKERS)
    df = df.assign(suspicious=df["user_agent"].str.lower().str.contains(pattern).astype(float))
    copies = [
        df.assign(window_start=df["timestamp"].dt.floor(SLIDE) - k * SLIDE)
        for k in range(SIZE // SLIDE)
    ]
    rows = pd.concat(copies).assign(window_end=lambda d: d["window_start"] + SIZE)
    rows = rows[rows["window_end"] <= pd.Timestamp(watermark) + timedelta(milliseconds=1)]
    out = rows.groupby(KEY_COLS).agg(
        ctr_avg=("CTR", "mean"),
        bounce_rate_avg=("bounce_rate", "mean"),
        event_count=("event_id", "size"),
        cpc_avg=("CPC", "mean"),
        conversion_rate=("conversion", "mean"),
        unique_users=("user_id_hash", "nunique"),
        suspicious_ua_share=("suspicious", "mean"),
    )
    out["events_per_user"] = out["event_count"] / out["unique_users"]
    return in_ms(out.reset_index())


def table_rows(settings: Settings, table: str) -> pd.DataFrame:
    columns = sql.SQL(", ").join(map(sql.Identifier, [*KEY_COLS, *FEATURE_NAMES]))
    query = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(table))
    with connect(settings) as conn:
        rows = conn.execute(query).fetchall()
    return in_ms(pd.DataFrame(rows, columns=[*KEY_COLS, *FEATURE_NAMES]))


def in_ms(df: pd.DataFrame) -> pd.DataFrame:
    """One time resolution for every side of a comparison (pandas merges none across two)."""
    return df.astype({"window_start": "datetime64[ms, UTC]", "window_end": "datetime64[ms, UTC]"})


def dropped(settings: Settings, table: str) -> pd.DataFrame:
    with connect(settings) as conn:
        query = sql.SQL("SELECT reason, geo, platform, event_time, watermark_at FROM {}")
        rows = conn.execute(query.format(sql.Identifier(table))).fetchall()
    return pd.DataFrame(rows, columns=["reason", "geo", "platform", "event_time", "watermark_at"])


def assert_same_windows(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    merged = expected.merge(actual, on=KEY_COLS, how="outer", suffixes=("", "_job"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][KEY_COLS]
    for name in ("event_count", "unique_users"):
        assert (merged[name] == merged[f"{name}_job"]).all(), name
    for name in set(FEATURE_NAMES) - {"event_count", "unique_users"}:
        assert np.allclose(merged[name], merged[f"{name}_job"], rtol=0, atol=1e-6), name


def submit_cli(config: JobConfig, *extra: str) -> subprocess.Popen[str]:
    options = config.model_dump(mode="json", exclude={"bounded", "blackhole"})
    options["topic"] = options.pop("source_topic")
    argv = [sys.executable, "-m", "adnomaly_cli", "flink", "submit", *extra]
    argv += [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cancel(settings: Settings, config: JobConfig) -> None:
    rest = FlinkRest(settings.flink_rest_url)
    for job in rest.active_named(config.name):
        rest.cancel(job.jid)
        rest.wait_state(job.jid, {"CANCELED"}, deadline_s=60)
    drop_tables(settings, config)


@pytest.fixture(scope="class")
def features_job(stack: Settings) -> Iterator[tuple[JobConfig, list[str], pd.DataFrame]]:
    """One job, submitted by two CLI processes at once; phase A fully windowed before tests."""
    tag = uuid.uuid4().hex[:8]
    config = JobConfig(
        name=f"test-features-{tag}",
        source_topic=unique_topic(stack, "flink-clicks", PARTITIONS),
        features_topic=unique_topic(stack, "flink-features", 1),
        features_table=f"test_fa_{tag}",
        dropped_table=f"test_fd_{tag}",
        group_id=f"test-flink-{tag}",
        out_of_orderness=LATENESS,
        idle_timeout=timedelta(0),
        startup="earliest-offset",
    )
    procs = [submit_cli(config) for _ in range(2)]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    try:
        assert all(proc.returncode == 0 for proc in procs), outputs
        phase_a = events(7, 2400, T0, T0 + timedelta(minutes=12))
        late_jitter = np.random.default_rng(7).uniform(0, 8, len(phase_a))  # < LATENESS behind
        order = np.argsort(phase_a["timestamp"] + pd.to_timedelta(late_jitter, unit="s"))
        produce(stack, config.source_topic, wire(phase_a.iloc[order]))
        produce(stack, config.source_topic, [(b"US|web", raw) for raw in [b"not json", *MALFORMED]])
        valid = pd.concat([phase_a, closing(stack, config.source_topic, CLOSE, 8)])
        expected = expected_windows(valid, CLOSE - LATENESS)
        wait_for(
            lambda: len(table_rows(stack, config.features_table)) >= len(expected),
            120,
            f"{len(expected)} windows in {config.features_table}",
        )
        yield config, outputs, valid
    finally:
        cancel(stack, config)


class TestFeatures:
    def test_one_copy_runs_however_often_submitted(
        self, stack: Settings, features_job: tuple[JobConfig, list[str], pd.DataFrame]
    ) -> None:
        config, outputs, _ = features_job
        active = FlinkRest(stack.flink_rest_url).active_named(config.name)
        assert len(active) == 1
        assert sorted("already running" in out for out in outputs) == [False, True], outputs
        assert all(active[0].jid in out for out in outputs)

    def test_every_window_equals_pandas(
        self, stack: Settings, features_job: tuple[JobConfig, list[str], pd.DataFrame]
    ) -> None:
        config, _, valid = features_job
        expected = expected_windows(valid, CLOSE - LATENESS)
        assert_same_windows(table_rows(stack, config.features_table), expected)
        messages = read_all(stack, config.features_topic, len(expected))
        rows = [parse_feature_row(m.value()) for m in messages]
        assert all(m.key() == r.key for m, r in zip(messages, rows, strict=True))
        topic = pd.DataFrame([r.model_dump() for r in rows]).drop_duplicates()
        assert_same_windows(in_ms(topic), expected)
        reasons = dropped(stack, config.dropped_table)["reason"].tolist()
        assert reasons == ["invalid"] * len(MALFORMED)  # "not json" never becomes a row

    def test_late_records_are_counted_and_kept_out_of_windows(
        self, stack: Settings, features_job: tuple[JobConfig, list[str], pd.DataFrame]
    ) -> None:
        config, _, valid = features_job
        before = table_rows(stack, config.features_table)
        segment = {"geo": "MT", "platform": "ios"}
        late = events(9, 6, T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)).assign(**segment)
        in_bound = events(10, 6, CLOSE - timedelta(seconds=5), CLOSE).assign(**segment)
        produce(stack, config.source_topic, wire(pd.concat([late, in_bound])), partition=0)
        later = CLOSE + timedelta(minutes=6)
        valid = pd.concat([valid, in_bound, closing(stack, config.source_topic, later, 11)])
        expected = expected_windows(valid, later - LATENESS)
        wait_for(
            lambda: len(table_rows(stack, config.features_table)) >= len(expected),
            90,
            "the windows of the in-bound records",
        )
        after = table_rows(stack, config.features_table)
        assert_same_windows(after, expected)  # in-bound records counted, late ones not
        old = after.merge(before, on=KEY_COLS, suffixes=("", "_before"))
        assert len(old) == len(before)
        assert (old["event_count"] == old["event_count_before"]).all()
        late_rows = dropped(stack, config.dropped_table).query("reason == 'late'")
        assert len(late_rows) == len(late)
        assert (late_rows["event_time"] <= late_rows["watermark_at"]).all()
        assert (late_rows["watermark_at"] >= CLOSE - LATENESS).all()

    def test_replace_carries_open_windows_over(
        self, stack: Settings, features_job: tuple[JobConfig, list[str], pd.DataFrame]
    ) -> None:
        """Windows still open when the job is replaced keep the events they had: the new copy
        restores the old one's savepoint instead of starting empty from committed offsets."""
        config, _, _ = features_job
        base = T0 + timedelta(hours=1)  # ahead of anything earlier tests moved the watermark to
        before = events(31, 300, base, base + timedelta(minutes=3))
        produce(stack, config.source_topic, wire(before))
        mid = closing(stack, config.source_topic, base + timedelta(minutes=3), 32)
        wait_for(lambda: len(rows_after(stack, config, base)), 60, "windows before the replacement")
        rest, since_ms = FlinkRest(stack.flink_rest_url), time.time() * 1000
        old_jid = rest.active_named(config.name)[0].jid
        wait_for(lambda: completed_after(rest, old_jid, since_ms), 60, "offsets committed")
        resume = config.model_copy(update={"startup": "group-offsets"})  # not a re-read from 0
        out, _ = submit_cli(resume, "--replace").communicate(timeout=300)
        active = rest.active_named(config.name)
        assert len(active) == 1 and active[0].jid != old_jid and active[0].jid in out, out
        after = events(33, 300, base + timedelta(minutes=3), base + timedelta(minutes=6))
        produce(stack, config.source_topic, wire(after))
        last = base + timedelta(minutes=12)
        valid = pd.concat([before, mid, after, closing(stack, config.source_topic, last, 34)])
        expected = expected_windows(valid, last - LATENESS).query("window_end > @base")
        wait_for(
            lambda: len(rows_after(stack, config, base)) >= len(expected),
            90,
            "windows after the replacement",
        )
        assert_same_windows(rows_after(stack, config, base), expected)


def rows_after(settings: Settings, config: JobConfig, after: datetime) -> pd.DataFrame:
    rows = table_rows(settings, config.features_table)
    return rows[rows["window_end"] > after]


def test_taskmanager_kill_resumes_from_the_last_checkpoint(stack: Settings) -> None:
    """SIGKILL the only TaskManager after a checkpoint; the supervisor restarts it, the job
    restores and the table ends with every window exactly once and exactly right."""
    tag = uuid.uuid4().hex[:8]
    config = JobConfig(
        name=f"test-recovery-{tag}",
        source_topic=unique_topic(stack, "flink-recovery", PARTITIONS),
        features_topic=unique_topic(stack, "flink-recovery-features", 1),
        features_table=f"test_fa_{tag}",
        dropped_table=f"test_fd_{tag}",
        group_id=f"test-flink-{tag}",
        out_of_orderness=LATENESS,
        idle_timeout=timedelta(0),
        startup="earliest-offset",
    )
    rest, supervisor = FlinkRest(stack.flink_rest_url), Supervisor(stack)
    jid = submit(stack, config).jid
    try:
        first = events(21, 1500, T0, T0 + timedelta(minutes=15))
        produce(stack, config.source_topic, wire(first))
        wait_for(lambda: len(table_rows(stack, config.features_table)) > 500, 90, "first windows")
        since_ms = time.time() * 1000
        checkpoint = wait_for(lambda: completed_after(rest, jid, since_ms), 60, "a checkpoint")
        old_pid = supervisor.processes()["flink-taskmanager"]["pid"]
        os.kill(old_pid, signal.SIGKILL)
        second = events(22, 1500, T0 + timedelta(minutes=15), T0 + timedelta(minutes=30))
        produce(stack, config.source_topic, wire(second))
        close = T0 + timedelta(minutes=35) + LATENESS + timedelta(seconds=1)
        valid = pd.concat([first, second, closing(stack, config.source_topic, close, 23)])
        expected = expected_windows(valid, close - LATENESS)
        wait_for(
            lambda: len(table_rows(stack, config.features_table)) >= len(expected),
            240,
            "every window after the restart",
        )
        assert supervisor.processes()["flink-taskmanager"]["pid"] != old_pid
        restored = rest.checkpoints(jid)["latest"]["restored"]
        assert restored is not None and restored["id"] >= checkpoint
        assert_same_windows(table_rows(stack, config.features_table), expected)
        messages = read_all(stack, config.features_topic, len(expected))
        copies = pd.DataFrame([parse_feature_row(m.value()).model_dump() for m in messages])
        assert len(copies.drop_duplicates()) == len(expected)  # replays repeat rows identically
    finally:
        cancel(stack, config)


def completed_after(rest: FlinkRest, jid: str, since_ms: float) -> int | None:
    latest = rest.checkpoints(jid)["latest"]["completed"]
    return latest["id"] if latest and latest["latest_ack_timestamp"] > since_ms else None
