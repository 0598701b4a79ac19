"""The `adnomaly` command line: one Typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from adnomaly_cli import (
    bench_cmd,
    chaos_cmd,
    dbquery_cmd,
    detect_cmd,
    features_cmd,
    flink_cmd,
    gen_cmd,
    incidents_cmd,
    model_cmd,
    series_cmd,
    sink_cmd,
    stack_cmd,
    tail_cmd,
    topics_cmd,
    ui_cmd,
)
from adnomaly_cli.tail_features_cmd import tail_features
from adnomaly_ops.stack.tools import ToolMissingError
from streaming.db.migrations import MigrationError
from streaming.settings import SettingsError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(stack_cmd.app, name="stack")
app.add_typer(sink_cmd.app, name="sink")
app.add_typer(topics_cmd.app, name="topics")
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(flink_cmd.app, name="flink")
app.add_typer(features_cmd.app, name="features")
app.add_typer(incidents_cmd.app, name="incidents")
app.add_typer(model_cmd.app, name="model")
app.command()(gen_cmd.gen)
app.command()(tail_cmd.tail)
app.command("tail-features")(tail_features)
app.command("db-query")(dbquery_cmd.db_query)
app.command()(stack_cmd.demo)
app.command()(detect_cmd.detect)
app.command("detect-stream")(detect_cmd.detect_stream)
app.command()(detect_cmd.evaluate)
app.command("evaluate-series")(series_cmd.evaluate_series)
app.command()(chaos_cmd.chaos)
app.command()(ui_cmd.ui)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (ToolMissingError, TimeoutError, ConnectionError, MigrationError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
