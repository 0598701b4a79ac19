"""`adnomaly tail`: live events from a topic, as a readable table or raw JSON lines."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Annotated

import orjson
import typer
from confluent_kafka import Consumer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from streaming.kafka.config import consumer_config
from streaming.kafka.principals import MONITOR_GROUP_PREFIXES
from streaming.settings import get_settings

COLUMNS = (
    "timestamp",
    "geo",
    "platform",
    "campaign_id",
    "ad_id",
    "CPC",
    "CTR",
    "conversion",
    "bounce_rate",
    "user_agent",
)


def _render(rows: list[dict[str, object]], columns: tuple[str, ...], title: str) -> Table:
    table = Table(title=title, expand=True)
    for col in columns:
        table.add_column(col, overflow="ellipsis", no_wrap=True, max_width=40)
    for row in rows[-25:]:
        table.add_row(*(_fmt(row.get(c)) for c in columns))
    return table


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def tail(
    topic: Annotated[str | None, typer.Option(help="topic (default TOPIC)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="raw JSON lines")] = False,
    from_beginning: Annotated[bool, typer.Option(help="start at the oldest record")] = False,
    max_records: Annotated[int | None, typer.Option(help="stop after N records")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="stop after N seconds")] = None,
) -> None:
    """Show live records; a throwaway consumer group, so no real group's offsets move."""
    settings = get_settings()
    name = topic or settings.topic
    group = f"{MONITOR_GROUP_PREFIXES[0]}{uuid.uuid4().hex[:8]}"
    config = consumer_config(settings, "adnomaly-tail", group, principal="monitor")
    config["auto.offset.reset"] = "earliest" if from_beginning else "latest"
    consumer = Consumer(config)
    consumer.subscribe([name])
    rows: list[dict[str, object]] = []
    seen, end = 0, (time.monotonic() + max_seconds) if max_seconds else None
    columns = COLUMNS if name == settings.topic else ()
    try:
        with Live(console=Console(), auto_refresh=False, transient=as_json) as live:
            while (max_records is None or seen < max_records) and (
                end is None or time.monotonic() < end
            ):
                msg = consumer.poll(0.5)
                if msg is None or msg.error():
                    continue
                seen += 1
                if as_json:
                    sys.stdout.buffer.write((msg.value() or b"") + b"\n")
                    sys.stdout.flush()
                    continue
                try:
                    row = orjson.loads(msg.value() or b"")
                except orjson.JSONDecodeError:
                    row = {"raw": (msg.value() or b"")[:80]}
                rows = [*rows, row][-25:]
                cols = columns or tuple(row)
                live.update(_render(rows, cols, f"{name}: {seen:,} records"), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
