"""`adnomaly bench capacity`: the highest rate the whole pipeline sustains on this machine.

The stack's pipeline runs as in the soak (`chaos.pipeline.prepare`: sinks, Flink job, Feast
ingestor, detector; every instance of the profile). A generator process offers `rate` events/s
for one step; the rate rises by `step_eps` each step. A step is *sustained* when

- the generator delivered at least 95 % of the rate into Kafka (else the load, not the pipeline,
  was the limit: the run stops and says so),
- no consumer group's lag grew through the step: the smallest lag of the step's second half is
  not more than one second of events above the smallest of its first half (smallest, because
  Flink commits its offsets only with a checkpoint, so its lag is a saw tooth; for Flink's
  group a checkpoint interval of events more is allowed), and the lag drains to zero within
  `drain_s` after the step,
- the produce→PostgreSQL p99 of the step's events is at most `p99_limit_ms`.

The first step that is not sustained ends the run: its offered rate is `limit_eps`, the rate at
which this run saw the pipeline fall behind, so the capacity lies between `throughput_eps` (the
highest sustained step's stored rate) and `limit_eps`; `ratio` says how tight that bracket is.
Each service's CPU (psutil, process tree: cores, and share of the pipeline's total) is measured
at every step and reported for the sustained one, with the whole machine's busy share (other
users included). Each step also reports the CPU microseconds every service spent per delivered
event (the step and its drain): unlike the rate, that holds up when other work shares the
machine, and the cores divided by its total bound what the machine could sustain. The probe
keeps its Kafka clients for the whole run and the services' CPU is read at a step's ends only
(the generator's every second), so the measurement adds little load of its own.
A warm-up step at the first rate (not judged) comes first. The run is bounded by
`max_minutes`, the pipeline's preparation included.
"""

from __future__ import annotations

import shutil
import statistics
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
from adnomaly_ops.bench.soak import _latency_ms
from adnomaly_ops.chaos.pipeline import prepare, undo
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.kafka.inspect import TopicProbe
from streaming.settings import PROJECT_ROOT, Settings, child_env

DELIVERED_SHARE = 0.95
# Flink commits its group's offsets with each checkpoint (JobConfig.checkpoint_interval)
FLINK_CHECKPOINT_S = 10


@dataclass
class Step:
    rate: float
    seconds: float = 0.0  # from the first event delivered to the generator's exit
    produced_eps: float = 0.0
    stored: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    lag_end: int = 0
    lag_growth: dict[str, int] = field(default_factory=dict)
    drained_s: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # cores
    # CPU microseconds per delivered event: the step's CPU through the drain after it (the
    # work a step's events cause is done by then), so a step that fell behind counts fully
    cpu_us: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0
    verdict: str = ""

    @property
    def sustained(self) -> bool:
        return self.verdict == "sustained"

    def as_dict(self) -> dict[str, object]:
        return {
            "rate": round(self.rate),
            "seconds": round(self.seconds, 1),
            "produced_eps": round(self.produced_eps),
            "stored_eps": round(self.stored / self.seconds) if self.seconds else 0,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "lag_end": self.lag_end,
            "lag_growth": self.lag_growth,
            "drained_s": None if self.drained_s is None else round(self.drained_s, 1),
            "machine_busy": round(self.machine_busy, 3),
            "cpu_us_per_event": {
                k: round(v, 1) for k, v in sorted(self.cpu_us.items(), key=lambda i: -i[1])
            },
            "verdict": self.verdict,
        }


def cpu_seconds(settings: Settings, extra: dict[str, int] | None = None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each running supervised program's process
    tree (the Flink scripts start a JVM below a shell), and by `extra` named pids."""
    pids = {
        name: int(info["pid"])
        for name, info in Supervisor(settings).processes().items()
        if info["statename"] == "RUNNING" and info["pid"]
    }
    return cpu_seconds_of({**pids, **(extra or {})})


def cpu_seconds_of(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named pid's process tree (a pid that is gone is left out)."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            proc = psutil.Process(pid)
            tree = [proc, *proc.children(recursive=True)]
            out[name] = sum(sum(p.cpu_times()[:2]) for p in tree)
        except psutil.Error:
            continue
    return out


def bench_capacity(
    settings: Settings,
    *,
    start_eps: float = 5_000,
    step_eps: float = 5_000,
    max_eps: float = 80_000,
    step_s: float = 40.0,
    drain_s: float = 30.0,
    p99_limit_ms: float = 1_000.0,
    max_minutes: float = 20.0,
    chart_path: Path | None = None,
    say: Callable[[str], None] = print,
) -> BenchResult:
    if min(start_eps, step_eps, step_s, drain_s, p99_limit_ms, max_minutes) <= 0:
        raise ValueError("rates, durations and the p99 limit must be positive")
    end = time.monotonic() + max_minutes * 60
    restore = prepare(settings, say)
    probe = TopicProbe(settings)
    steps: list[Step] = []
    try:
        # a warm-up step, not judged: a just-submitted Flink job has no committed offset until
        # its first checkpoint, and the JVMs and caches fill as load begins
        warm = _step(settings, probe, start_eps, min(step_s, 20.0), drain_s, p99_limit_ms, say)
        say(f"  warm-up at {start_eps:,.0f}/s: {warm.verdict} (not judged)")
        rate, stop_reason = start_eps, f"reached --max-eps {max_eps:,.0f}"
        while rate <= max_eps:
            if time.monotonic() + step_s + drain_s + 30 > end:
                stop_reason = f"time bound ({max_minutes:g} min)"
                break
            step = _step(settings, probe, rate, step_s, drain_s, p99_limit_ms, say)
            steps.append(step)
            say(f"  {rate:>8,.0f}/s offered: {step.verdict}")
            if not step.sustained:
                stop_reason = step.verdict
                break
            rate += step_eps
    finally:
        probe.close()
        undo(settings, restore, say)
    path = chart_path or PROJECT_ROOT / "capacity.png"
    chart(steps, p99_limit_ms, path)
    return _result(settings, steps, stop_reason, p99_limit_ms, path)


def _result(
    settings: Settings, steps: list[Step], stop_reason: str, p99_limit_ms: float, path: Path
) -> BenchResult:
    good = [s for s in steps if s.sustained]
    best = good[-1] if good else None
    failed = steps[-1] if steps and not steps[-1].sustained else None
    # the pipeline's limit, seen in this run: the offered rate of the step it could not hold
    # (none when the load generator or the time bound stopped the run first)
    limit = failed.produced_eps if failed and "generator" not in failed.verdict else None
    throughput = best.stored / best.seconds if best else 0.0
    total = sum(best.cpu.values()) if best else 0.0
    return BenchResult(
        name="capacity" if settings.profile == "single" else f"capacity-{settings.profile}",
        throughput_eps=throughput,
        limit_eps=limit,
        runs=[{"ours_eps": throughput, **({"limit_eps": limit} if limit else {})}],
        extra={
            "profile": settings.profile,
            "limit_is": "the offered rate of the first step the pipeline did not sustain"
            if limit
            else f"not reached: {stop_reason}",
            "stopped_because": stop_reason,
            "rule": f"sustained: ≥{DELIVERED_SHARE:.0%} of the rate delivered, no group's lag "
            f"growing through the step, lag drained after it, produce→PostgreSQL p99 ≤ "
            f"{p99_limit_ms:,.0f} ms",
            "sustained_rate": round(best.rate) if best else None,
            "p99_ms_at_throughput": round(best.p99_ms, 1) if best else None,
            "cpu_cores_at_throughput": {k: round(v, 3) for k, v in sorted(best.cpu.items())}
            if best
            else {},
            "cpu_share_at_throughput": {
                k: round(v / total, 3) for k, v in sorted(best.cpu.items(), key=lambda i: -i[1])
            }
            if best and total
            else {},
            "cpu_us_per_event_at_throughput": best.as_dict()["cpu_us_per_event"] if best else {},
            "machine_busy_at_throughput": round(best.machine_busy, 3) if best else None,
            "cores": psutil.cpu_count(),
            "steps": [s.as_dict() for s in steps],
            "chart": str(path),
        },
    )


def _step(
    settings: Settings,
    probe: TopicProbe,
    rate: float,
    step_s: float,
    drain_s: float,
    p99_limit_ms: float,
    say: Callable[[str], None],
) -> Step:
    step = Step(rate)
    base = probe.size(settings.topic)
    started, t0 = datetime.now(UTC), time.monotonic()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read after the process ended)
    argv = [sys.executable, "-m", "adnomaly_cli", "gen", "--no-fraud", "--rate", str(rate)]
    argv += ["--duration", f"{step_s:.0f}s", "--seed", str(int(t0 * 1000) % 1_000_000)]
    # the stack of `settings` (make bench's other-profile stack is not the environment's), as
    # the pipeline's own generator principal, not the bench's admin
    env = {k: v for k, v in child_env(settings).items() if k != "KAFKA_PRINCIPAL"}
    gen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env)
    say(f"capacity: {rate:,.0f} events/s for {step_s:g}s")
    load = {"generator (load)": gen.pid}
    lags: list[tuple[float, dict[str, int]]] = []
    cpu_before, cpu_at = cpu_seconds(settings), t0  # from the first event on, once it flows
    gen_cpu = (0.0, 0.0)  # the generator's CPU seconds when the events began to flow, and last
    flowing: float | None = None  # when the first event arrived (the generator starts slowly)
    sizes: list[tuple[float, int]] = []
    last_full = 0.0  # when the lags and the generator's CPU were last sampled
    try:
        while gen.poll() is None:
            if time.monotonic() - t0 > step_s + 60:
                raise RuntimeError(f"the generator ran past {step_s + 60:.0f}s")
            # the topic's size every 0.2 s: the delivery window's ends (first event in, last
            # one in) are then known to 0.2 s, ±0.5 % of a 40 s step's rate
            size = probe.size(settings.topic)
            sizes.append((time.monotonic(), size))
            starting = flowing is None and size > base
            if starting or time.monotonic() - last_full >= 1.0:
                last_full = time.monotonic()
                now = cpu_seconds_of(load).get("generator (load)")
                if starting:
                    flowing = time.monotonic()
                    psutil.cpu_percent()  # the machine's busy share from here
                    cpu_before, cpu_at = cpu_seconds(settings), time.monotonic()
                    gen_cpu = (now or 0.0, now or 0.0)
                elif now is not None and flowing is not None:
                    gen_cpu = (gen_cpu[0], now)
                lags.append((time.monotonic() - t0, probe.lags(settings.group_topics)))
            time.sleep(0.2)  # the sampling cadence
    finally:
        if gen.poll() is None:
            gen.terminate()
            gen.wait(30)
    cpu_after, cpu_window = cpu_seconds(settings), max(time.monotonic() - cpu_at, 1.0)
    step.machine_busy = psutil.cpu_percent() / 100
    stopped = datetime.now(UTC)
    final = probe.size(settings.topic)
    # the delivery window: first event seen to the first sample holding the final size (the
    # generator's exit, slow on a loaded machine, is not part of it)
    done = next((at for at, size in sizes if size >= final), time.monotonic())
    step.seconds = max(done - (flowing or t0), 1.0)
    if gen.returncode != 0:
        log.seek(0)
        tail = log.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"the generator exited with {gen.returncode}: {tail}")
    step.cpu = {
        name: (cpu_after[name] - cpu_before.get(name, 0.0)) / cpu_window
        for name in cpu_after
        if cpu_after[name] - cpu_before.get(name, 0.0) > 0
    }
    if gen_cpu[1] > gen_cpu[0]:
        step.cpu["generator (load)"] = (gen_cpu[1] - gen_cpu[0]) / step.seconds
    step.produced_eps = (final - base) / step.seconds
    step.lag_growth = _growth(lags, time.monotonic() - t0)
    drain_end = time.monotonic() + drain_s
    while time.monotonic() < drain_end:
        now_lags = probe.lags(settings.group_topics)
        step.lag_end = sum(now_lags.values())
        if not step.lag_end:
            step.drained_s = time.monotonic() - done
            break
        time.sleep(0.5)  # polling cadence while draining
    events = final - base
    if events > 0:
        drained = cpu_seconds(settings)
        step.cpu_us = {
            name: (drained[name] - cpu_before.get(name, 0.0)) / events * 1e6
            for name in drained
            if drained[name] - cpu_before.get(name, 0.0) > 0
        }
        step.cpu_us["generator (load)"] = (gen_cpu[1] - gen_cpu[0]) / events * 1e6
    step.p50_ms, step.p99_ms, step.stored = _latency_ms(settings, started, stopped)
    step.verdict = _verdict(step, rate, p99_limit_ms, settings.flink_group)
    return step


def _growth(lags: list[tuple[float, dict[str, int]]], seconds: float) -> dict[str, int]:
    """Each group's smallest lag in the step's second half minus that of its first half."""
    first = [lag for at, lag in lags if at < seconds / 2]
    second = [lag for at, lag in lags if at >= seconds / 2]
    if not first or not second:
        return {}
    groups = set(first[0]) | set(second[-1])
    return {
        g: min(lag.get(g, 0) for lag in second) - min(lag.get(g, 0) for lag in first)
        for g in sorted(groups)
    }


def _verdict(step: Step, rate: float, p99_limit_ms: float, flink_group: str = "") -> str:
    if step.produced_eps < DELIVERED_SHARE * rate:
        return (
            f"the load generator delivered only {step.produced_eps:,.0f}/s of {rate:,.0f}/s "
            "(the load, not the pipeline, is the limit)"
        )
    growing = {
        g: d
        for g, d in step.lag_growth.items()
        if d > rate * (1 + (FLINK_CHECKPOINT_S if g == flink_group else 0))
    }
    if growing:
        return f"lag grew through the step: {growing}"
    if step.drained_s is None:
        return f"lag {step.lag_end:,} not drained after the step"
    if step.p99_ms > p99_limit_ms:
        return f"produce→PostgreSQL p99 {step.p99_ms:,.0f} ms > {p99_limit_ms:,.0f} ms"
    return "sustained"


def chart(steps: list[Step], p99_limit_ms: float, path: Path) -> None:
    """Per step: offered, delivered and stored events/s; lag at its end; p99 against the limit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not steps:
        return
    xs = list(range(1, len(steps) + 1))
    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    top.plot(xs, [s.rate for s in steps], "o--", label="offered events/s")
    top.plot(xs, [s.produced_eps for s in steps], "o-", label="delivered to Kafka")
    top.plot(xs, [s.stored / s.seconds for s in steps], "s-", label="stored in PostgreSQL")
    top.set_ylabel("events/s")
    top.legend(fontsize=8)
    mid.bar(xs, [max(s.lag_growth.values(), default=0) for s in steps], label="max lag growth")
    mid.plot(xs, [s.lag_end for s in steps], "ko-", label="lag after the drain")
    mid.set_ylabel("events")
    mid.legend(fontsize=8)
    bottom.plot(xs, [s.p99_ms for s in steps], "o-", label="produce→PostgreSQL p99")
    bottom.axhline(p99_limit_ms, color="#c00", linestyle="--", label="limit")
    bottom.set_ylabel("ms")
    bottom.set_xlabel("step")
    bottom.set_xticks(xs, [f"{s.rate / 1000:g}k\n{'ok' if s.sustained else 'no'}" for s in steps])
    bottom.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# the first step and step size of `make bench`'s runs per profile: a first step the profile
# holds, so the runs spend their time near its limit
BENCH_STEPS = {"single": (20_000.0, 5_000.0), "ha": (10_000.0, 5_000.0)}
TARGET_EPS = {"single": 30_000.0}  # issue 16's target for the default profile on 2 cores


def bench_capacity_runs(
    settings: Settings, runs: int, say: Callable[[str], None] = print
) -> BenchResult:
    """`runs` capacity runs on the stack of `settings`: the median sustained rate, with each
    run's figures; the limit, the chart and the details are the median run's."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    start, step = BENCH_STEPS[settings.profile]
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            say(f"capacity ({settings.profile} profile): run {i + 1} of {runs}")
            chart_path = Path(tmp) / f"run{i}.png"
            results.append(
                bench_capacity(
                    settings, start_eps=start, step_eps=step, chart_path=chart_path, say=say
                )
            )
        ordered = sorted(results, key=lambda r: r.throughput_eps)
        middle = ordered[(len(ordered) - 1) // 2]
        final_chart = PROJECT_ROOT / f"{middle.name}.png"
        shutil.copyfile(middle.extra["chart"], final_chart)
    # the limit of the median run: a limit and the rate it bounds come from the same run
    return BenchResult(
        name=middle.name,
        throughput_eps=statistics.median(r.throughput_eps for r in results),
        limit_eps=middle.limit_eps,
        runs=[run for r in results for run in r.runs],
        target_eps=TARGET_EPS.get(settings.profile),
        extra={**middle.extra, "chart": str(final_chart), "median_run": results.index(middle) + 1},
    )


def capacity_of(settings: Settings, profile: str, runs: int) -> BenchResult:
    """`bench_capacity_runs` on a stack of `profile`: the running one, or one the bench starts."""
    from adnomaly_ops.bench.profiles import stack_of

    with stack_of(settings, profile) as stack:
        return bench_capacity_runs(stack, runs)
