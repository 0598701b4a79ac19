"""Time partitions: the lake compacts per hour, the warehouse and features per day (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from adnomaly_dagster.constants import PARTITIONS_START

# end_offset=1: the current (still filling) hour and day are partitions too, so a live stack can
# look at today; the partition sensor only requests partitions once they are complete.
hourly = dg.HourlyPartitionsDefinition(
    start_date=f"{PARTITIONS_START}-00:00", timezone="UTC", end_offset=1
)
daily = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC", end_offset=1)


def hour_window(key: str) -> tuple[datetime, datetime]:
    """'2026-11-24-05:00' → [05:00, 06:00) UTC."""
    start = datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
    return start, start + timedelta(hours=1)


def day_window(key: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)
