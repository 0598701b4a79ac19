"""`adnomaly bench soak`: the whole pipeline held at a steady rate for minutes.

A generator process produces `rate` events/s into the clickstream topic for `minutes`, while the
sinks, Flink, the Feast ingestor and the detector run under the stack's supervisor. Every few
seconds the consumer lag of every group and the memory (RSS of the process tree) of every
service are sampled. After the load stops, the lag must drain to zero within `drain_target_s`.
Latency is produce→PostgreSQL per event: its generation stamp to `ingested_at`, which is the
start of the transaction that stored it. Memory is PSS (see `service_memory`). Its growth is
judged from the end of a warm-up (a fifth of the run, at most a minute: JVM heaps and caches
fill as load begins, which is not a leak) to the end: at most `MEMORY_BOUND_MIB` or
`MEMORY_BOUND_SHARE` of the warm size, whichever is larger.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from adnomaly_ops.bench.common import BenchResult
from adnomaly_ops.chaos.pipeline import prepare, undo
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.db.connect import connect
from streaming.kafka.inspect import TopicProbe, topic_size
from streaming.settings import PROJECT_ROOT, Settings

MEMORY_BOUND_MIB = 256.0
MEMORY_BOUND_SHARE = 0.25
MIB = 1024 * 1024


@dataclass
class Sample:
    at_s: float
    produced: int
    lag: dict[str, int]
    rss_mib: dict[str, float]


@dataclass
class Soak:
    settings: Settings
    samples: list[Sample] = field(default_factory=list)
    probe: TopicProbe = field(init=False)

    def __post_init__(self) -> None:
        self.probe = TopicProbe(self.settings)

    def groups(self) -> dict[str, str]:
        """Every pipeline group, Flink's included (it commits its offsets with each checkpoint)."""
        return self.settings.group_topics

    def lags(self) -> dict[str, int]:
        return self.probe.lags(self.groups())


def service_memory(settings: Settings) -> dict[str, float]:
    """Memory in MiB of every running program of the supervisor, children included (the Flink
    scripts start a JVM below a shell): PSS, so pages shared between processes (PostgreSQL's
    shared buffers, touched by every backend) count once, not once per process."""
    out: dict[str, float] = {}
    for name, info in Supervisor(settings).processes().items():
        if info["statename"] != "RUNNING" or not info["pid"]:
            continue
        try:
            proc = psutil.Process(info["pid"])
            tree = [proc, *proc.children(recursive=True)]
            out[name] = sum(p.memory_full_info().pss for p in tree) / MIB
        except psutil.Error:
            continue
    return out


def _latency_ms(settings: Settings, start: datetime, end: datetime) -> tuple[float, float, int]:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), count(*) FROM ("
            ' SELECT extract(epoch FROM ingested_at - "timestamp") * 1000 AS ms'
            ' FROM clickstream_events WHERE "timestamp" >= %s AND "timestamp" <= %s) t',
            (start, end),
        ).fetchone()
    if row is None or row[2] == 0:
        return 0.0, 0.0, 0
    return float(row[0]), float(row[1]), int(row[2])


def bench_soak(
    settings: Settings,
    minutes: float,
    rate: float,
    *,
    sample_s: float = 5.0,
    drain_target_s: float = 30.0,
    chart_path: Path | None = None,
    say: Callable[[str], None] = print,
) -> BenchResult:
    restore = prepare(settings, say)
    soak = Soak(settings)
    try:
        return _run(soak, minutes, rate, sample_s, drain_target_s, chart_path, say)
    finally:
        soak.probe.close()
        undo(settings, restore, say)


def _run(
    soak: Soak,
    minutes: float,
    rate: float,
    sample_s: float,
    drain_target_s: float,
    chart_path: Path | None,
    say: Callable[[str], None],
) -> BenchResult:
    settings = soak.settings
    seconds = minutes * 60
    warmup_s = min(60.0, seconds / 5)
    base = topic_size(settings, settings.topic)
    memory_before = service_memory(settings)
    started, t0 = datetime.now(UTC), time.monotonic()
    # a file, not a pipe: a pipe could fill up over minutes and stall the generator
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read after the process ended)
    gen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adnomaly_cli",
            "gen",
            "--no-fraud",
            "--rate",
            str(rate),
            "--duration",
            f"{seconds:.0f}s",
            "--seed",
            str(int(t0) % 100_000),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    say(f"soak: {rate:,.0f} events/s for {minutes:g} min (samples every {sample_s:g}s)")
    try:
        while gen.poll() is None:
            if time.monotonic() - t0 > seconds + 120:
                raise RuntimeError(f"the generator ran past {seconds + 120:.0f}s")
            time.sleep(sample_s)  # the sampling cadence
            soak.samples.append(
                Sample(
                    time.monotonic() - t0,
                    topic_size(settings, settings.topic) - base,
                    soak.lags(),
                    service_memory(settings),
                )
            )
    finally:
        if gen.poll() is None:
            gen.terminate()
            gen.wait(30)
    if gen.returncode != 0:
        log.seek(0)
        tail = log.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"the generator exited with {gen.returncode}: {tail}")
    stopped, load_s = datetime.now(UTC), time.monotonic() - t0
    produced = topic_size(settings, settings.topic) - base
    drained_after: float | None = None
    drain_end = time.monotonic() + max(120.0, drain_target_s * 4)
    while time.monotonic() < drain_end:
        lags = soak.lags()
        soak.samples.append(Sample(time.monotonic() - t0, produced, lags, service_memory(settings)))
        if not any(lags.values()):
            drained_after = time.monotonic() - t0 - load_s
            break
        time.sleep(1.0)  # polling cadence while draining
    p50, p99, stored = _latency_ms(settings, started, stopped)
    memory = _memory_table(memory_before, soak.samples, warmup_s)
    lag_max = max((sum(s.lag.values()) for s in soak.samples), default=0)
    groups = sorted(soak.groups())
    lag_max_by_group = {g: max((s.lag.get(g, 0) for s in soak.samples), default=0) for g in groups}
    path = chart_path or PROJECT_ROOT / "soak.png"
    chart(soak.samples, load_s, path, settings.flink_group)
    result = BenchResult(
        name="soak",
        throughput_eps=stored / load_s,
        # the requested rate is what the run aims at, not a limit: nothing measured a ceiling
        limit_eps=None,
        runs=[{"ours_eps": stored / load_s}],
        target_eps=rate,
        extra={
            "minutes": minutes,
            "produced": produced,
            "stored_postgres": stored,
            "produced_eps": round(produced / load_s),
            "lag_max": lag_max,
            "lag_max_by_group": lag_max_by_group,
            "lag_end": sum(soak.samples[-1].lag.values()) if soak.samples else None,
            "lag_zero_after_s": None if drained_after is None else round(drained_after, 1),
            "drain_target_s": drain_target_s,
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "memory_mib": memory,
            "memory_bound": f"growth after warm-up ≤ max({MEMORY_BOUND_MIB:.0f} MiB, "
            f"{MEMORY_BOUND_SHARE:.0%} of the warm size)",
            "memory_ok": all(m["ok"] for m in memory.values()),
            "drain_ok": drained_after is not None and drained_after <= drain_target_s,
            "chart": str(path),
        },
    )
    return result


def _memory_table(
    before: dict[str, float], samples: list[Sample], warmup_s: float
) -> dict[str, dict[str, float | bool]]:
    warm = next((s.rss_mib for s in samples if s.at_s >= warmup_s), samples[0].rss_mib)
    end = samples[-1].rss_mib
    table: dict[str, dict[str, float | bool]] = {}
    for name in sorted(set(before) | set(end)):
        start_mib, warm_mib, end_mib = (
            before.get(name, 0.0),
            warm.get(name, 0.0),
            end.get(name, 0.0),
        )
        growth = end_mib - warm_mib
        bound = max(MEMORY_BOUND_MIB, MEMORY_BOUND_SHARE * warm_mib)
        table[name] = {
            "start": round(start_mib, 1),
            "warm": round(warm_mib, 1),
            "end": round(end_mib, 1),
            "growth": round(growth, 1),
            "ok": growth <= bound,
        }
    return table


def chart(samples: list[Sample], load_s: float, path: Path, flink_group: str) -> None:
    """Events/s and total lag over time (top) and memory per service (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(samples) < 2:
        return
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    xs = [s.at_s for s in samples]
    rates = [0.0] + [
        max(b.produced - a.produced, 0) / max(b.at_s - a.at_s, 1e-9)
        for a, b in itertools.pairwise(samples)
    ]
    top.plot(xs, rates, label="produced events/s", linewidth=2)
    for group in sorted(samples[-1].lag):
        note = " (commits on checkpoints)" if group == flink_group else ""
        top.plot(
            xs, [s.lag.get(group, 0) for s in samples], label=f"lag {group}{note}", linewidth=0.8
        )
    top.axvline(load_s, color="#999", linestyle="--", label="load stops")
    top.legend(loc="upper left", fontsize=8)
    top.set_ylabel("events")
    for name in sorted(samples[-1].rss_mib):
        bottom.plot(xs, [s.rss_mib.get(name, float("nan")) for s in samples], label=name)
    bottom.set_ylabel("memory (PSS), MiB")
    bottom.set_xlabel("seconds since the load started")
    bottom.legend(loc="upper left", fontsize=7, ncol=3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
