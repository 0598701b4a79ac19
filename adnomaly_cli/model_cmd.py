"""`adnomaly model list|promote|rollback`: the stored detector models, their roles (champion,
challenger) and latest comparison scores; promotion and rollback take effect in the running
detector within its reload interval, without a restart."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from streaming.detection.roles import UnknownVersionError, current_roles
from streaming.detection.store import MODEL_PREFIX, list_versions, promote_version
from streaming.s3 import s3_client
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()
PrefixOption = Annotated[
    str, typer.Option(help="model key prefix in MINIO_BUCKET", show_default=True)
]


def trained_at(version: str) -> str:
    """The version's leading UTC training time (`YYYYmmddTHHMMSSZ-<hash>`), readable."""
    try:
        return f"{datetime.strptime(version.split('-')[0], '%Y%m%dT%H%M%SZ'):%Y-%m-%d %H:%M:%S}"
    except ValueError:
        return "?"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@app.command("list")
def list_models(model_prefix: PrefixOption = MODEL_PREFIX) -> None:
    """Stored versions, newest first: role, training time, latest comparison scores."""
    settings = get_settings()
    client = s3_client(settings)
    versions = list_versions(settings, client=client, prefix=model_prefix)
    roles = current_roles(settings, client, model_prefix, versions)
    table = Table(title=f"detector models in s3://{settings.minio_bucket}/{model_prefix}")
    for col in ("version", "role", "trained at (UTC)", "precision", "recall", "F1", "delay s"):
        table.add_column(col)
    table.add_column("labels", justify="right")
    for version in reversed(versions):
        s = roles.scores.get(version, {})
        role = roles.role_of(version) or ""
        style = {"champion": "bold green", "challenger": "yellow"}.get(role)
        table.add_row(
            version,
            role,
            trained_at(version),
            *(_fmt(s.get(k)) for k in ("precision", "recall", "f1", "median_delay_s")),
            _fmt(s.get("labels")),
            style=style,
        )
    console.print(table)
    if not versions:
        console.print("no model stored yet: materialize fraud_model in Dagster")


def _promote(version: str, prefix: str) -> None:
    settings = get_settings()
    try:
        roles = promote_version(version, settings, getpass.getuser(), prefix=prefix)
    except UnknownVersionError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    challenger = roles.challenger or "none"
    console.print(f"champion: [bold green]{roles.champion}[/]  challenger: {challenger}")
    console.print("the running detector switches within its reload interval (--reload-seconds)")


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="a stored version (see `adnomaly model list`)")],
    model_prefix: PrefixOption = MODEL_PREFIX,
) -> None:
    """Make VERSION the champion: its score alerts from now on."""
    _promote(version, model_prefix)


@app.command()
def rollback(model_prefix: PrefixOption = MODEL_PREFIX) -> None:
    """Promote the champion before the current one again."""
    settings = get_settings()
    client = s3_client(settings)
    versions = list_versions(settings, client=client, prefix=model_prefix)
    previous = current_roles(settings, client, model_prefix, versions).previous_champion()
    if previous is None:
        typer.secho("error: no earlier champion to roll back to", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    _promote(previous, model_prefix)
