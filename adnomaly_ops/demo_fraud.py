"""The demo's fraud: every scenario of the generator injected into live traffic on a schedule
that leaves the detector time to catch each one, and the tables that show what happened.

The live traffic is the generator's own (TrafficGenerator through ClickProducer, so labels go
to the labels topic and fraud_labels exactly as in `adnomaly gen`); only its incident schedule
is replaced: instead of a few random incidents per simulated day, one incident of each
scenario, staggered over the first part of the run, each in a segment of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from rich.table import Table

from streaming.contract import GEOS
from streaming.generator import FraudIncident, FraudType, IncidentScheduler, TrafficGenerator
from streaming.generator.catalog import CAMPAIGN_NAMES
from streaming.generator.incidents import UNUSUAL_GEOS
from streaming.incidents.quality import Quality
from streaming.incidents.queries import QueuedIncident
from streaming.producer import ClickProducer
from streaming.settings import Settings

LEAD = timedelta(seconds=20)  # the first incident starts this long after live traffic does
DURATION = timedelta(minutes=4)  # of each incident
# the detector needs a 5-minute window that closes after the fraud began, Flink's watermark
# and its own batch: the last incident starts at least this long before the run ends
CATCH = timedelta(minutes=3, seconds=30)
MIN_SECONDS = (LEAD + CATCH).total_seconds() + 60
# the order they are injected in: the volume scenarios first, the subtle ones later
ORDER = (
    FraudType.BOT_CLICK_FLOOD,
    FraudType.EMULATOR_BURST,
    FraudType.CTR_INFLATION,
    FraudType.CPC_MANIPULATION,
    FraudType.CONVERSION_DROUGHT,
)
_CAMPAIGN_SCOPED = {FraudType.BOT_CLICK_FLOOD, FraudType.CTR_INFLATION, FraudType.EMULATOR_BURST}


def check_seconds(seconds: float) -> None:
    """ValueError unless a live run of `seconds` leaves time to inject and catch every one."""
    if seconds < MIN_SECONDS:
        raise ValueError(
            f"{seconds:.0f} s of live traffic is too short to inject and catch every fraud "
            f"scenario: give at least {MIN_SECONDS:.0f}"
        )


def plan_incidents(
    start: datetime, seconds: float, gen: TrafficGenerator, seed: int = 7
) -> list[FraudIncident]:
    """One blatant incident per scenario, the first LEAD after `start`, the last CATCH before
    the run ends, in distinct segments (emulator bursts where the generator puts them: a small
    market, web or android)."""
    check_seconds(seconds)
    rng = np.random.default_rng([seed, int(start.timestamp())])
    last = timedelta(seconds=seconds) - CATCH
    step = (last - LEAD) / (len(ORDER) - 1)
    used: set[tuple[str, str]] = set()
    plan = []
    for k, kind in enumerate(ORDER):
        at = (start + LEAD + step * k).replace(microsecond=0)
        while True:
            if kind is FraudType.EMULATOR_BURST:
                segment = (str(rng.choice(UNUSUAL_GEOS)), str(rng.choice(["web", "android"])))
            else:
                segment = (str(rng.choice(GEOS)), str(rng.choice(["web", "ios", "android"])))
            if segment not in used:
                break
        used.add(segment)
        campaign = None
        if kind in _CAMPAIGN_SCOPED:
            campaign = str(CAMPAIGN_NAMES[int(gen.catalog.sample_campaigns(rng, 1)[0])])
        plan.append(
            FraudIncident(
                id=f"inc-{at:%Y%m%d}-{90 + k}-{rng.bytes(3).hex()}",
                type=kind,
                geo=segment[0],
                platform=segment[1],
                campaign_id=campaign,
                start=at,
                end=at + DURATION,
                intensity=1.0,
            )
        )
    return plan


class ScriptedIncidents(IncidentScheduler):
    """The generator's scheduler with a fixed list of incidents instead of random days."""

    def __init__(self, gen: TrafficGenerator, incidents: Sequence[FraudIncident]) -> None:
        super().__init__(gen.seed, gen.catalog, incidents_per_day=0.0)
        self.planned = tuple(incidents)

    def incidents_between(self, start_ms: int, end_ms: int) -> list[FraudIncident]:
        found = [inc for inc in self.planned if inc.overlaps(start_ms, end_ms)]
        return sorted(found, key=lambda inc: (inc.start, inc.id))


class LiveTraffic(threading.Thread):
    """Live events as the generator's live mode makes them (`events_between(last, now, rate)`
    every tick: Poisson counts on the daily curve at mean `rate`, the rate the history was
    made at, so the model trained on it sees the same level), with the planned incidents
    injected; `stop()` ends it and flushes, raising if any event was not delivered."""

    TICK_S = 0.5

    def __init__(self, settings: Settings, gen: TrafficGenerator, rate: float) -> None:
        super().__init__(name="demo-traffic", daemon=True)
        self.producer = ClickProducer(settings)
        self.gen, self.rate = gen, rate
        self._stopping = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        last = datetime.now(UTC)
        try:
            while not self._stopping.wait(self.TICK_S):
                now = datetime.now(UTC)
                for batch in self.gen.events_between(last, now, self.rate):
                    self.producer.send_batch(batch)
                last = now
                self.producer.producer.poll(0)  # serves delivery reports
        except Exception as exc:  # noqa: BLE001 (reported by stop(), in the demo's thread)
            self.error = exc

    def stop(self) -> int:
        self._stopping.set()
        self.join(30)
        if self.error is not None:
            raise RuntimeError(f"demo traffic failed: {self.error}") from self.error
        return self.producer.flush().acked


def _ago(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def injected_table(plan: Sequence[FraudIncident], quality: Quality, now: datetime) -> Table:
    """The planned incidents as they stand: scheduled, running, caught after how long."""
    outcomes = {o.label.incident_id: o for o in quality.labels}
    table = Table(title="fraud injected")
    for col in ("scenario", "segment", "starts", "status"):
        table.add_column(col)
    for inc in plan:
        outcome = outcomes.get(inc.id)
        if inc.start > now:
            status = f"in {_ago(inc.start - now)}"
        elif outcome is not None and outcome.caught:
            status = f"[green]caught after {_ago(outcome.delay)}"
        else:
            status = f"[yellow]running {_ago(now - inc.start)}, not caught yet"
        table.add_row(inc.type.value, f"{inc.geo}/{inc.platform}", f"{inc.start:%H:%M:%S}", status)
    return table


def alerts_table(queue: Sequence[QueuedIncident], limit: int = 8) -> Table:
    """The detector's incidents as they arrive (anomaly_results grouped), newest first."""
    table = Table(title=f"alerts: {len(queue)} incident(s) so far")
    for col in ("incident", "windows", "peak"):
        table.add_column(col)
    table.add_column("reason (of the peak window)", no_wrap=True, overflow="ellipsis", max_width=80)
    for q in queue[:limit]:
        inc = q.incident
        table.add_row(inc.id, str(inc.windows), f"{inc.peak_score:.2f}", inc.reason)
    return table


def caught_table(quality: Quality) -> Table:
    """The summary: every incident injected, whether and how soon the detector caught it.

    Raises when nothing was injected: a summary of zero incidents would say nothing."""
    if not quality.labels:
        pending = f" ({len(quality.pending)} too recent to judge)" if quality.pending else ""
        raise RuntimeError(
            "no fraud incident was injected during the live run" + pending + ": fraud_labels "
            "holds none for it; see .adnomaly/logs and `make status`"
        )
    table = Table(title="Adnomaly demo: fraud caught")
    for col in ("scenario", "segment", "injected (UTC)", "caught", "after", "incident"):
        table.add_column(col)
    for o in quality.labels:
        lb = o.label
        span = f"{lb.start:%H:%M:%S}-{lb.end:%H:%M:%S}"
        caught = "[green]yes" if o.caught else "[red]no"
        incident = ", ".join(o.alerts) or "-"
        table.add_row(lb.scenario, f"{lb.geo}/{lb.platform}", span, caught, _ago(o.delay), incident)
    median = _ago(quality.median_delay)
    false = len(quality.alerts) - quality.true_alerts
    table.caption = (
        f"{quality.caught} of {len(quality.labels)} caught, median delay {median}; "
        f"{len(quality.alerts)} alert(s) during the run, {false} matching no injected incident"
    )
    return table


def now() -> datetime:
    return datetime.now(UTC)
