"""`adnomaly tail-features`: the newest feature rows as a live table, with what the job dropped.

Rows are kept by (geo, platform, window_end), so the copies an at-least-once replay can put on
the topic show once. The title counts the job's late and invalid records from PostgreSQL, so a
watermark set too tight is visible where people look at the features.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Annotated

import psycopg
import typer
from confluent_kafka import Consumer
from psycopg import sql
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

from streaming.db.connect import connect
from streaming.feature_contract import FeatureRow, parse_feature_row
from streaming.kafka.config import consumer_config
from streaming.kafka.principals import MONITOR_GROUP_PREFIXES
from streaming.settings import Settings, get_settings

SHOWN = 30
COLUMNS = (
    "window",
    "geo",
    "plat",
    "events",
    "users",
    "ev/usr",
    "ctr",
    "bounce",
    "cpc",
    "conv",
    "bot UA",
)


def dropped_counts(settings: Settings, table: str = "flink_dropped_events") -> str:
    try:
        with connect(settings) as conn:
            query = sql.SQL("SELECT reason, count(*) FROM {} GROUP BY reason ORDER BY reason")
            rows = conn.execute(query.format(sql.Identifier(table))).fetchall()
    except (ConnectionError, psycopg.Error) as exc:
        return f"n/a ({str(exc).splitlines()[0][:80]})"
    return ", ".join(f"{reason} {count:,}" for reason, count in rows) or "none"


def _row(r: FeatureRow) -> list[str]:
    window = f"{r.window_start:%H:%M}-{r.window_end:%H:%M}"
    shares = (r.bounce_rate_avg, r.cpc_avg, r.conversion_rate, r.suspicious_ua_share)
    counts = (f"{r.event_count:,}", f"{r.unique_users:,}", f"{r.events_per_user:.2f}")
    return [window, r.geo, r.platform, *counts, f"{r.ctr_avg:.4f}", *(f"{v:.3f}" for v in shares)]


def _render(rows: dict[tuple[str, str, str], FeatureRow], title: str) -> Table:
    newest = sorted(rows.values(), key=lambda r: (r.window_end, r.geo, r.platform), reverse=True)
    if newest:
        title += f" | newest window ends {newest[0].window_end:%Y-%m-%d %H:%M} UTC"
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=0, pad_edge=False)
    for col in COLUMNS:
        table.add_column(col, no_wrap=True, justify="left" if col in COLUMNS[:3] else "right")
    for row in newest[:SHOWN]:
        table.add_row(*_row(row))
    if not rows:
        table.add_row("waiting for feature rows…", *[""] * (len(COLUMNS) - 1))
    return table


class _View:
    """The rows kept for display: newest windows win, bounded so a long tail stays small."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rows: dict[tuple[str, str, str], FeatureRow] = {}
        self.seen = self.unreadable = 0
        self.dropped, self.checked_at = dropped_counts(settings), time.monotonic()

    def add(self, raw: bytes) -> None:
        self.seen += 1
        try:
            row = parse_feature_row(raw)
        except ValidationError:
            self.unreadable += 1
            return
        self.rows[(row.geo, row.platform, row.window_end.isoformat())] = row
        if len(self.rows) > 20 * SHOWN:
            newest = sorted(self.rows.items(), key=lambda kv: kv[1].window_end)[-SHOWN:]
            self.rows = dict(newest)

    def table(self) -> Table:
        if time.monotonic() - self.checked_at > 5:
            self.dropped, self.checked_at = dropped_counts(self.settings), time.monotonic()
        bad = f", {self.unreadable} unreadable" if self.unreadable else ""
        title = f"{self.settings.features_topic}: {self.seen:,} rows{bad} | dropped: {self.dropped}"
        return _render(self.rows, title)


def tail_features(
    from_beginning: Annotated[bool, typer.Option(help="start at the oldest row")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="raw JSON lines")] = False,
    max_records: Annotated[int | None, typer.Option(help="stop after N rows")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="stop after N seconds")] = None,
) -> None:
    """Live feature rows from FEATURES_TOPIC (newest windows first) and the dropped counts."""
    settings = get_settings()
    group = f"{MONITOR_GROUP_PREFIXES[0]}{uuid.uuid4().hex[:8]}"
    config = consumer_config(settings, "adnomaly-tail", group, principal="monitor")
    config["auto.offset.reset"] = "earliest" if from_beginning else "latest"
    consumer = Consumer(config)
    consumer.subscribe([settings.features_topic])
    view = _View(settings)
    end = time.monotonic() + max_seconds if max_seconds else float("inf")
    try:
        with Live(console=Console(), auto_refresh=False, transient=as_json) as live:
            while (max_records is None or view.seen < max_records) and time.monotonic() < end:
                wanted = 500 if max_records is None else max(1, min(500, max_records - view.seen))
                for msg in consumer.consume(wanted, 0.5):
                    if msg.error():
                        continue
                    if as_json:
                        view.seen += 1
                        sys.stdout.buffer.write((msg.value() or b"") + b"\n")
                    else:
                        view.add(msg.value() or b"")
                if as_json:
                    sys.stdout.flush()
                else:
                    live.update(view.table(), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
