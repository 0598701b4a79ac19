"""`adnomaly chaos`: kill and restart each part of the running pipeline, verify nothing is lost."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from streaming.settings import get_settings

if TYPE_CHECKING:
    from adnomaly_ops.chaos.run import FaultReport

# Not a terminal (CI logs, `| tee`): rich would squeeze the 11-column table to 80 characters.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)


def _table(reports: list[FaultReport]) -> Table:
    table = Table(title="chaos: every fault, then the whole run")
    for col in (
        "fault",
        "produced",
        "postgres",
        "lake",
        "dup",
        "lost",
        "back s",
        "recovery s",
        "unavail s",
        "windows",
        "online",
        "ok",
    ):
        table.add_column(col, justify="left" if col == "fault" else "right")
    for r in reports:
        online = f"{r.online_segments - r.online_behind}/{r.online_segments}"
        table.add_row(
            r.fault,
            f"{r.produced:,}",
            f"{r.stored_postgres:,}",
            f"{r.stored_lake:,}",
            str(r.duplicated),
            str(r.lost),
            _s(r.back_after_s),
            _s(r.recovery_s),
            _s(r.unavailable_s),
            f"{r.feature_windows - r.feature_problems}/{r.feature_windows}",
            online,
            "[green]yes" if r.ok else "[red]NO",
        )
    return table


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def chaos(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    rate: Annotated[float, typer.Option(min=1, help="events/s produced during each fault")] = 1000,
    phase_seconds: Annotated[
        float, typer.Option(min=2, help="seconds of traffic per fault (the fault at half-time)")
    ] = 10,
    deadline: Annotated[
        float, typer.Option(min=10, help="seconds each recovery and check may take")
    ] = 180,
    faults: Annotated[
        str | None,
        typer.Option(
            help="comma-separated subset by target, e.g. db-sink,kafka,poison; the HA "
            "profile adds kafka-leader, flink-taskmanager-2, minio-drive, kafka-leader+db-sink "
            "(default: all of the profile's)"
        ),
    ] = None,
    max_unavailable: Annotated[
        float,
        typer.Option(
            min=0,
            help="HA profile: seconds a fault it absorbs may stop events reaching PostgreSQL",
        ),
    ] = 5.0,
) -> None:
    """Inject each fault into the running stack (`make up` first) while a bounded, known set of
    events flows, and verify exactly-once storage, features, the online store and the DLQ."""
    from adnomaly_ops.chaos.faults import by_names
    from adnomaly_ops.chaos.pipeline import PipelineError
    from adnomaly_ops.chaos.run import run_chaos

    settings = get_settings()
    try:
        selected = by_names(settings, faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None

    def on_report(r: FaultReport) -> None:
        mark = "[green]ok[/]" if r.ok else f"[red]FAILED[/] {'; '.join(r.problems)}"
        console.print(
            f"{r.fault}: {r.produced:,} produced, {r.stored_postgres:,} in PostgreSQL, "
            f"{r.stored_lake:,} in the lake, recovered in {_s(r.recovery_s)} s, longest stretch "
            f"with nothing stored {_s(r.unavailable_s)} s — {mark}"
        )

    try:
        reports = run_chaos(
            settings,
            selected,
            rate=rate,
            phase_s=phase_seconds,
            deadline_s=deadline,
            max_unavailable_s=max_unavailable,
            say=lambda m: console.print(f"[dim]{m}"),
            on_report=on_report,
        )
    except PipelineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    console.print(_table(reports))
    if as_json:
        print(
            json.dumps({"ok": all(r.ok for r in reports), "faults": [r.as_dict() for r in reports]})
        )
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
