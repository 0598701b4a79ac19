"""`adnomaly incidents list|verdict`: the incident queue as a table, and analysts' verdicts."""

from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from streaming.db.connect import connect
from streaming.db.migrations import migrate
from streaming.incidents.verdicts import (
    CLI_CHOICES,
    NO_VERDICT,
    VerdictError,
    parse_verdict,
    record_verdict,
)
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()
_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime) -> datetime:
    """'90m', '24h', '7d' before now, or an ISO date/time (UTC when it names no zone)."""
    match = _DURATION.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: give a duration like 90m, 24h, 7d or an ISO time like 2026-12-01T10:00"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command("list")
def list_cmd(
    since: str = typer.Option("24h", help="incidents active since: 90m, 24h, 7d or an ISO time"),
    geo: str | None = typer.Option(None, help="one country code, e.g. US"),
    platform: str | None = typer.Option(None, help="web, ios or android"),
    verdict: str | None = typer.Option(
        None, help=f"{', '.join(CLI_CHOICES)}, or {NO_VERDICT} for incidents not judged yet"
    ),
    min_score: float = typer.Option(0.0, help="minimum peak score, 0..1"),
    limit: int = typer.Option(50, min=1, help="show at most this many (newest first)"),
) -> None:
    """The incident queue, newest first: segment, span, peak score, drivers, reason, verdict."""
    from streaming.incidents.queries import Filters, list_incidents  # pandas: only when asked

    now = datetime.now(UTC)
    try:
        wanted = None
        if verdict is not None:
            wanted = NO_VERDICT if verdict == NO_VERDICT else parse_verdict(verdict).value
        filters = Filters(
            since=parse_since(since, now),
            geo=geo.upper() if geo else None,
            platform=platform,
            verdict=wanted,
            min_score=min_score,
        )
    except ValueError as exc:
        _fail(str(exc))
    with connect(get_settings()) as conn:
        migrate(conn)
        queue = list_incidents(conn, filters)
    table = Table(title=f"Incidents since {filters.since:%Y-%m-%d %H:%M} UTC ({len(queue)})")
    for column in ("ID", "segment", "start (UTC)", "end (UTC)", "windows", "peak"):
        table.add_column(column, no_wrap=True, justify="right" if column == "peak" else "left")
    table.add_column("drivers")
    table.add_column("reason", max_width=60)
    table.add_column("verdict", no_wrap=True)
    for item in queue[:limit]:
        inc, v = item.incident, item.verdict
        table.add_row(
            inc.id,
            inc.segment,
            f"{inc.start:%m-%d %H:%M}",
            f"{inc.end:%m-%d %H:%M}",
            str(inc.windows),
            f"{inc.peak_score:.3f}",
            ", ".join(inc.driver_names),
            inc.reason,
            f"{v.verdict.label} ({v.analyst})" if v else "—",
        )
    console.print(table)
    if len(queue) > limit:
        console.print(f"{len(queue) - limit} older incident(s) not shown (--limit)")


@app.command("verdict")
def verdict_cmd(
    incident_id: str = typer.Argument(..., help="the incident's ID from `adnomaly incidents list`"),
    as_: str = typer.Option(..., "--as", help=" | ".join(CLI_CHOICES)),
    note: str = typer.Option("", help="why (at most 2000 characters)"),
    who: str = typer.Option("", help="analyst name (default: your login name)"),
) -> None:
    """Record a verdict on an incident; it supersedes the previous one, which stays as history."""
    from streaming.incidents.queries import IncidentNotFoundError, get_incident

    try:
        verdict = parse_verdict(as_)
    except VerdictError as exc:
        _fail(str(exc))
    analyst = who or f"{getpass.getuser()} (cli)"
    with connect(get_settings()) as conn:
        migrate(conn)
        try:
            incident = get_incident(conn, incident_id)
            stored = record_verdict(conn, incident, verdict, analyst, note)
        except (ValueError, IncidentNotFoundError) as exc:
            _fail(str(exc))
    console.print(
        f"{stored.incident_id} ({incident.segment}, {incident.start:%Y-%m-%d %H:%M}"
        f" to {incident.end:%H:%M} UTC): {stored.verdict.label} by {stored.analyst}"
        f" at {stored.decided_at:%Y-%m-%d %H:%M:%S} UTC"
    )
