"""`adnomaly chaos`: faults injected one by one into the running pipeline, each followed by a
bounded wait for it to catch up and a check that nothing was lost or stored twice.

Per fault: events are produced at a steady rate for `phase_s` seconds; half-way through the
fault is injected; then every event produced so far must be exactly once in PostgreSQL and in
the lake, every consumer group must be caught up, every closed feature window must equal an
independent computation from the stored events (no conflicting copies on the features topic),
the online store must serve each segment's newest window, and poison records must all be in
the DLQ once per sink. The run leaves the stack as it found it: services it started are stopped
again, a generator it paused is resumed.
"""

from __future__ import annotations

import logging
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adnomaly_ops.chaos import checks, poison
from adnomaly_ops.chaos.faults import INTERRUPTED, Fault, absorbed, inject, wait_until
from adnomaly_ops.chaos.ledger import Phase, SteadyProducer, Stores, longest_gap
from adnomaly_ops.chaos.pipeline import prepare, service_groups, undo
from streaming.db.connect import connect
from streaming.kafka.inspect import TopicProbe
from streaming.settings import Settings

log = logging.getLogger("adnomaly.chaos")

# the features job's defaults (`flink submit`)
OUT_OF_ORDERNESS, WINDOW, SLIDE = timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=1)
POISON_PER_KIND = 10


@dataclass
class FaultReport:
    fault: str
    produced: int = 0
    stored_postgres: int = 0
    stored_lake: int = 0
    duplicated: int = 0
    lost: int = 0
    back_after_s: float | None = None
    recovery_s: float | None = None
    # the longest stretch with no event of the phase reaching PostgreSQL while it was produced
    unavailable_s: float | None = None
    produce_errors: int = 0
    feature_windows: int = 0
    feature_problems: int = 0
    replayed_feature_copies: int = 0
    online_segments: int = 0
    online_behind: int = 0
    poison_sent: int = 0
    poison_in_dlq: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class Chaos:
    def __init__(
        self,
        settings: Settings,
        rate: float,
        phase_s: float,
        deadline_s: float,
        say: Callable[[str], None],
        max_unavailable_s: float = 5.0,
    ) -> None:
        self.settings, self.rate = settings, rate
        self.phase_s, self.deadline_s = phase_s, deadline_s
        self.max_unavailable_s = max_unavailable_s
        self.say = say
        self.run_id = secrets.token_hex(4)
        self.stores = Stores(settings)
        self.producer = SteadyProducer(settings, rate, seed=int(self.run_id, 16))
        self.started_at = datetime.now(UTC)
        self.windows_from = self._windows_from()
        self.total = Phase()
        self._store: Any = None

    def _windows_from(self) -> datetime:
        """Feature windows are checked from the minute the run started in, when no event of
        that minute predates the run (the generator is paused), else from the next minute."""
        floor = self.started_at.replace(second=0, microsecond=0)
        with connect(self.settings) as conn:
            row = conn.execute(
                'SELECT count(*) FROM clickstream_events WHERE "timestamp" >= %s'
                ' AND "timestamp" < %s',
                (floor, self.started_at),
            ).fetchone()
        return floor if row and row[0] == 0 else floor + timedelta(minutes=1)

    def feast(self) -> Any:
        if self._store is None:
            from streaming.features.store import open_store

            self._store = open_store(self.settings)
        return self._store

    def run_fault(self, fault: Fault) -> FaultReport:
        report = FaultReport(fault.name)
        phase_start = time.monotonic()
        poison_since = datetime.now(UTC)
        self.producer.start()
        try:
            time.sleep(self.phase_s / 2)  # load before the fault (pacing, not settling)
            injected = time.monotonic()
            if fault.kind == "poison":
                records = poison.poison_records(self.run_id, POISON_PER_KIND)
                poison.send_poison(self.settings, records)
                report.poison_sent = len(records)
                back: Callable[[], bool] = lambda: True  # noqa: E731
            else:
                back = inject(self.settings, fault)
            report.back_after_s = _round(wait_until(back, self.deadline_s))
            if report.back_after_s is None:
                report.problems.append(f"{fault.target} not back within {self.deadline_s:.0f}s")
            time.sleep(max(0.0, self.phase_s - (time.monotonic() - phase_start)))
        finally:
            phase = self.producer.stop()
        self.total.merge(phase)
        report.produced = len(phase.ids)
        self._check_stored(report, phase, injected)
        self._check_available(report, phase, fault)
        self._check_groups(report)
        self._check_features(report, phase)
        if fault.kind == "poison":
            self._check_poison(report, poison_since)
        return report

    def _check_stored(self, report: FaultReport, phase: Phase, injected: float) -> None:
        n = len(phase.ids)

        def caught_up() -> bool:
            return self.stores.postgres(phase).stored >= n and self.stores.lake(phase).stored >= n

        waited = wait_until(caught_up, self.deadline_s)
        if waited is not None:
            report.recovery_s = round(time.monotonic() - injected, 1)
        pg, lake = self.stores.postgres(phase), self.stores.lake(phase)
        report.stored_postgres, report.stored_lake = pg.stored, lake.stored
        report.duplicated = pg.duplicated + lake.duplicated
        report.lost = max(pg.lost(n), lake.lost(n))
        if report.lost or report.duplicated:
            report.problems.append(
                f"postgres {pg.stored}/{n} (+{pg.duplicated} dup), "
                f"lake {lake.stored}/{n} (+{lake.duplicated} dup)"
            )

    def _check_available(self, report: FaultReport, phase: Phase, fault: Fault) -> None:
        """Produce errors and the longest stretch with nothing stored; on the HA profile a fault
        it must absorb may not stop PostgreSQL's intake for more than `max_unavailable_s`."""
        report.produce_errors = phase.produce_errors
        if phase.produce_errors:
            report.problems.append(f"{phase.produce_errors} produce error(s)")
        assert phase.first is not None and phase.last is not None
        gap = longest_gap(self.stores.ingested_at(phase), phase.first, phase.last)
        report.unavailable_s = round(gap, 1)
        if absorbed(self.settings, fault) and gap > self.max_unavailable_s:
            report.problems.append(
                f"no event reached PostgreSQL for {gap:.1f}s "
                f"(an outage; at most {self.max_unavailable_s:g}s on the HA profile)"
            )

    def _check_groups(self, report: FaultReport) -> None:
        groups = service_groups(self.settings)
        with TopicProbe(self.settings) as probe:
            if wait_until(lambda: not any(probe.lags(groups).values()), self.deadline_s) is None:
                behind = {g: n for g, n in probe.lags(groups).items() if n}
                report.problems.append(
                    f"consumer groups behind after {self.deadline_s:.0f}s: {behind}"
                )

    def _check_features(self, report: FaultReport, phase: Phase) -> None:
        assert phase.last is not None
        hi = phase.last - OUT_OF_ORDERNESS - timedelta(seconds=1)
        lo = self.windows_from
        result = checks.FeatureCheck()

        def complete() -> bool:
            nonlocal result
            result = checks.check_features(self.settings, lo, hi)
            return not (result.missing or result.wrong)

        wait_until(complete, self.deadline_s)
        try:
            checks.features_topic_copies(self.settings, self.started_at, result)
        except TimeoutError as exc:
            report.problems.append(str(exc))
        report.feature_windows = result.windows
        report.feature_problems = result.missing + result.wrong + result.conflicting_copies
        report.replayed_feature_copies = result.replayed_copies
        if report.feature_problems:
            report.problems.append(
                f"features: {result.missing} missing, {result.wrong} wrong, "
                f"{result.conflicting_copies} conflicting copies of {result.windows} windows "
                f"{result.examples}"
            )
        examples: list[str] = []

        def online_current() -> bool:
            nonlocal examples
            report.online_segments, report.online_behind, examples = checks.online_lag(
                self.settings, self.feast(), lo
            )
            return report.online_behind == 0

        if wait_until(online_current, self.deadline_s) is None:
            report.problems.append(f"online store behind on {report.online_behind}: {examples}")

    def _check_poison(self, report: FaultReport, since: datetime) -> None:
        expected = set(poison.CLICKSTREAM_CONSUMERS)
        found: dict[int, set[str]] = {}

        def all_there() -> bool:
            nonlocal found
            found = poison.poison_in_dlq(self.settings, self.run_id, since)
            return sum(1 for s in found.values() if expected <= s) >= report.poison_sent

        wait_until(all_there, self.deadline_s)
        report.poison_in_dlq = sum(1 for s in found.values() if expected <= s)
        if report.poison_in_dlq < report.poison_sent:
            report.problems.append(
                f"only {report.poison_in_dlq}/{report.poison_sent} poison records in the DLQ "
                f"of both {sorted(expected)}"
            )

    def closing_traffic(self, windows: int = 2) -> None:
        """Clean traffic after the last fault until `windows` slides of feature windows lying
        wholly inside the run have closed, so the whole-run check covers the faults' minutes."""
        assert self.total.last is not None
        needed = self.windows_from + WINDOW + (windows - 1) * SLIDE + OUT_OF_ORDERNESS
        needed += timedelta(seconds=2)
        remaining = (needed - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return
        self.say(f"closing traffic for {remaining:.0f}s so feature windows inside the run close")
        self.producer.start()
        try:
            time.sleep(remaining)  # the load that moves event time on (pacing, not settling)
        finally:
            self.total.merge(self.producer.stop())

    def whole_run(self) -> FaultReport:
        """Every event of the run, once more, after all faults; every feature window wholly
        inside it."""
        report = FaultReport("whole run")
        phase = self.total
        report.produced = len(phase.ids)
        report.produce_errors = phase.produce_errors
        self._check_stored(report, phase, time.monotonic())
        report.recovery_s = None
        self._check_features(report, phase)
        if not report.feature_windows:
            report.problems.append("no feature window closed inside the run")
        return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_chaos(
    settings: Settings,
    faults: list[Fault],
    *,
    rate: float = 1000.0,
    phase_s: float = 10.0,
    deadline_s: float = 180.0,
    max_unavailable_s: float = 5.0,
    say: Callable[[str], None] = log.info,
    on_report: Callable[[FaultReport], None] = lambda _r: None,
) -> list[FaultReport]:
    restore = prepare(settings, say)
    chaos = Chaos(settings, rate, phase_s, deadline_s, say, max_unavailable_s)
    reports: list[FaultReport] = []

    def interrupted(signum: int, _frame: object) -> None:
        INTERRUPTED.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        for fault in faults:
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt("interrupted")
            say(f"{fault.name}: producing {rate:,.0f} events/s, fault at {phase_s / 2:.0f}s")
            report = chaos.run_fault(fault)
            reports.append(report)
            on_report(report)
        if chaos.total.ids:
            chaos.closing_traffic()
            reports.append(chaos.whole_run())
            on_report(reports[-1])
    finally:
        undo(settings, restore, say)
    return reports
