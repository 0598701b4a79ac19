"""`adnomaly features apply|backfill|ingest|test`: the Feast feature store of the Flink features."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from streaming.features.store import FeatureRepoError, apply_repo, feast_paths, open_store
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()

Repo = Annotated[Path | None, typer.Option(help="Feast repo dir (default: FEATURE_REPO_PATH)")]
Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="UTC day, inclusive")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Name what is wrong (repo, registry, Redis) instead of a Feast traceback."""
    try:
        yield
    except FeatureRepoError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except RedisError as exc:
        s = get_settings()
        where = f"{s.redis_host}:{s.redis_port}"
        typer.secho(f"error: Redis at {where} unavailable: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command()
def apply(repo: Repo = None) -> None:
    """Register entities, the feature view, push source and feature service (feast apply)."""
    with _clear_errors():
        paths = apply_repo(get_settings(), repo)
    console.print(f"applied {paths.repo} → registry {paths.registry}")


@app.command()
def backfill(start: Day = None, end: Day = None, repo: Repo = None) -> None:
    """Postgres feature_aggregates → Parquet per UTC day (default: every day with rows)."""
    from streaming.features.backfill import backfill as run_backfill

    paths = feast_paths(get_settings(), repo)
    try:
        exports = run_backfill(get_settings(), paths, _day(start), _day(end))
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    table = Table(title=f"offline features → {paths.view_dir}")
    for col in ("day", "rows", "partition"):
        table.add_column(col)
    for e in exports:
        table.add_row(e.day.isoformat(), f"{e.rows:,}", str(e.path) if e.path else "(removed)")
    console.print(table if exports else "feature_aggregates is empty: nothing to export")


@app.command()
def ingest(
    topic: Annotated[
        str | None, typer.Option(help="source topic (default: FEATURES_TOPIC)")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="consumer group (default: FEAST_INGESTOR_GROUP)")
    ] = None,
    instance_id: Annotated[str | None, typer.Option(help="static group member id")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="records per poll and push")] = 5_000,
    max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
    idle_exit: Annotated[float | None, typer.Option(help="stop after this long idle")] = None,
    repo: Repo = None,
) -> None:
    """features topic → Feast push → Redis, offsets committed after each write (Ctrl-C stops)."""
    from streaming.features.ingestor import FeatureIngestor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    with _clear_errors():
        store = open_store(settings, repo)
    ingestor = FeatureIngestor(settings, store, topic, group, instance_id, batch_size)
    ingestor.run(max_seconds=max_seconds, idle_exit_s=idle_exit)


@app.command("test")
def test_online(
    geo: Annotated[str, typer.Option(help="entity geo")] = "US",
    platform: Annotated[str, typer.Option(help="entity platform")] = "ios",
    repo: Repo = None,
) -> None:
    """The original product's get_online_features example: fresh values for one (geo, platform)."""
    from streaming.features.retrieval import online_features, seed_features

    settings = get_settings()
    refs = seed_features(settings.feature_view_name)
    with _clear_errors():
        store = open_store(settings, repo)
        row = online_features(store, [{"geo": geo, "platform": platform}], refs)[0]
    ts = row["event_timestamp"]
    if ts is None:
        hint = "start the Flink job and `make feast-ingestor`"
        console.print(
            f"[yellow]no online features for {geo}/{platform} within the TTL yet[/]: {hint}"
        )
        raise typer.Exit(1)
    age_s = (datetime.now(UTC) - ts).total_seconds()
    table = Table(title=f"{geo}/{platform} · window_end {ts:%Y-%m-%d %H:%M}Z · {age_s:,.0f}s old")
    table.add_column("feature")
    table.add_column("value", justify="right")
    for ref in refs:
        name = ref.split(":", 1)[1]
        table.add_row(ref, "—" if row[name] is None else f"{row[name]:.6g}")
    console.print(table)
