"""`adnomaly topics create`: the project's topics with explicit partitions and retention."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from streaming.kafka.topics import ensure_topics, topic_specs
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.command()
def create() -> None:
    """Create missing topics and re-apply retention on existing ones (idempotent)."""
    settings = get_settings()
    actions = ensure_topics(settings)
    table = Table(title=f"Kafka topics on {settings.kafka_bootstrap}")
    for col in ("topic", "partitions", "retention", "purpose", "action"):
        table.add_column(col)
    for spec in topic_specs(settings):
        retention = "forever" if spec.retention_ms < 0 else f"{spec.retention_ms / 86_400_000:g} d"
        table.add_row(spec.name, str(spec.partitions), retention, spec.purpose, actions[spec.name])
    Console().print(table)
