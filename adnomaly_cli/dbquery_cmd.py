"""`adnomaly db-query`: the sample queries of README's "Data" section, shown as tables."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from streaming.db.connect import connect
from streaming.settings import get_settings

QUERIES: list[tuple[str, str]] = [
    ("Total events", "SELECT COUNT(*) AS events FROM clickstream_events"),
    (
        "Recent events",
        "SELECT timestamp, geo, platform, campaign_id, ad_id, cpc, ctr, conversion, bounce_rate"
        " FROM clickstream_events ORDER BY timestamp DESC LIMIT 10",
    ),
    (
        "Top countries",
        "SELECT geo, COUNT(*) AS events FROM clickstream_events GROUP BY geo"
        " ORDER BY COUNT(*) DESC LIMIT 10",
    ),
    (
        "Platform distribution",
        "SELECT platform, COUNT(*) AS events,"
        " round(100.0 * COUNT(*) / sum(COUNT(*)) OVER (), 1) AS share_pct"
        " FROM clickstream_events GROUP BY platform ORDER BY 2 DESC",
    ),
    (
        "High CTR events",
        "SELECT timestamp, geo, platform, campaign_id, ctr, cpc FROM clickstream_events"
        " WHERE ctr > 0.03 ORDER BY ctr DESC LIMIT 10",
    ),
    (
        "Sink progress",
        "SELECT sink, sum(stored) AS stored, sum(duplicates) AS duplicates,"
        " sum(rejected) AS rejected, max(updated_at) AS updated FROM sink_progress GROUP BY sink",
    ),
]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def db_query() -> None:
    """Query PostgreSQL statistics (README's sample queries)."""
    console = Console()
    with connect(get_settings()) as conn:
        for title, query in QUERIES:
            cur = conn.execute(query)
            table = Table(title=title, title_justify="left")
            for col in cur.description or []:
                table.add_column(col.name)
            for row in cur.fetchall():
                table.add_row(*(_cell(v) for v in row))
            console.print(table)
    raise typer.Exit(0)
