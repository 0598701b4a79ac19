"""Time partitions: the lake compacts per hour, the warehouse and features per day (UTC), and
which of them are complete enough for the partition sensors to request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

# History goes back up to the seed's 12 months; partitions start a little before that.
PARTITIONS_START = "2025-11-01"
HOUR_FMT, DAY_FMT = "%Y-%m-%d-%H:%M", "%Y-%m-%d"
CAUGHT_UP = 1_000  # records of lag below which a sink counts as caught up

# end_offset=1: the current (still filling) hour and day are partitions too, so a live stack can
# look at today; the partition sensors only request partitions once they are complete.
hourly = dg.HourlyPartitionsDefinition(
    start_date=f"{PARTITIONS_START}-00:00", timezone="UTC", end_offset=1
)
daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)


def hour_window(key: str) -> tuple[datetime, datetime]:
    """'2026-11-24-05:00' → [05:00, 06:00) UTC."""
    start = datetime.strptime(key, HOUR_FMT).replace(tzinfo=UTC)
    return start, start + timedelta(hours=1)


def day_window(key: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(key, DAY_FMT).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def complete_partitions(
    last: str | None, now: datetime, grace: timedelta, step: timedelta, fmt: str, limit: int = 24
) -> list[str]:
    """Partition keys whose window ended more than `grace` ago, after `last` (exclusive); with
    no `last`, only the newest such key (a fresh instance does not backfill history)."""
    newest = (now - grace - step).replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        newest = newest.replace(hour=0)
    start = datetime.strptime(last, fmt).replace(tzinfo=UTC) + step if last else newest
    keys: list[str] = []
    while start <= newest and len(keys) < limit:
        keys.append(start.strftime(fmt))
        start += step
    return keys


def request_complete(
    cursor: str | None,
    *,
    sink: str,
    lag: int,
    unit: str,
    grace: timedelta,
    step: timedelta,
    fmt: str,
    run_prefix: str,
) -> dg.SensorResult | dg.SkipReason:
    """The partition sensors' tick: once `sink` has caught up (lag below CAUGHT_UP), a run per
    `unit` ("hour", "day") completed since the cursor's, each requested once (its run key)."""
    if lag >= CAUGHT_UP:
        return dg.SkipReason(f"{sink} lags {lag:,} records")
    last = json.loads(cursor or "{}").get(unit)
    keys = complete_partitions(last, datetime.now(UTC), grace, step, fmt)
    if not keys:
        return dg.SkipReason(f"no {run_prefix} {unit} completed since {last}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{run_prefix}-{k}", partition_key=k) for k in keys],
        cursor=json.dumps({unit: keys[-1]}),
    )
