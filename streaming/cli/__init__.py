"""The `adnomaly` command line: one Typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from streaming.cli import stack_cmd
from streaming.settings import SettingsError
from streaming.stack.tools import ToolMissingError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(stack_cmd.app, name="stack")


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (ToolMissingError, TimeoutError, ConnectionError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
