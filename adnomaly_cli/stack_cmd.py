"""`adnomaly stack up|down|status|start|stop`: the native stack or Docker Compose."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.table import Table

from adnomaly_ops.stack import docker, native
from adnomaly_ops.stack.native import ServiceStatus
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()


def _mode() -> str:
    settings = get_settings()
    if settings.stack != "auto":
        return settings.stack
    return "docker" if docker.engine_available() else "native"


def _table(rows: list[ServiceStatus]) -> Table:
    table = Table(title=f"Adnomaly stack ({get_settings().state_dir})")
    for col in ("service", "state", "health", "ports", "pid", "uptime", "detail / last error"):
        table.add_column(col)
    for r in rows:
        health = "[green]healthy[/]" if r.healthy else "[red]down[/]"
        if r.state == "STOPPED" and not r.healthy:
            health = "[dim]not started[/]"
        ports = " ".join(f"{k}:{v}" for k, v in r.ports.items())
        uptime = f"{r.uptime_s:.0f}s" if r.uptime_s is not None else "-"
        note = r.detail if r.healthy or not r.last_error else f"{r.detail} | {r.last_error}"
        table.add_row(r.name, r.state, health, ports, str(r.pid or "-"), uptime, note)
    return table


@app.command()
def up() -> None:
    """Start every server and wait until each is healthy (harmless when already up)."""
    started = time.monotonic()
    if _mode() == "docker":
        docker.up(get_settings())
        return
    with console.status("starting the native stack…"):
        rows = native.up(get_settings())
    console.print(_table(rows))
    console.print(f"stack healthy in {time.monotonic() - started:.1f}s")


@app.command()
def down() -> None:
    """Stop every service of the stack and wait until none is left running."""
    if _mode() == "docker":
        docker.down(get_settings())
        return
    with console.status("stopping the native stack…"):
        native.down(get_settings())
    console.print("stack stopped")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="one JSON object")) -> None:
    """Each service: up/down, port, pid, uptime, last error. Exit 1 when a server is down."""
    if _mode() == "docker":
        docker.status(get_settings())
        return
    rows = native.status(get_settings())
    if as_json:
        print(json.dumps([r.__dict__ for r in rows]))
    else:
        console.print(_table(rows))
    servers_down = [r for r in rows if r.state != "STOPPED" and not r.healthy]
    raise typer.Exit(1 if servers_down or not rows else 0)


@app.command()
def start(
    name: str,
    wait: bool = typer.Option(False, "--wait", help="wait (bounded) until its probe passes"),
) -> None:
    """Start one supervised service (e.g. dagster, generator, db-sink, lake-sink)."""
    settings = get_settings()
    Supervisor(settings).start(name)
    if wait:
        from adnomaly_ops.stack.services import all_services
        from adnomaly_ops.stack.tools import tools_for

        service = [s for s in all_services(settings, tools_for(settings)) if s.name == name]
        native.wait_healthy(settings, service, deadline_s=180)
    console.print(f"{name} started")


@app.command()
def stop(name: str) -> None:
    """Stop one supervised service."""
    Supervisor(get_settings()).stop(name)
    console.print(f"{name} stopped")


def demo(
    seconds: float = typer.Option(
        360.0, help="how long live traffic (with every fraud scenario injected) runs"
    ),
    history: str = typer.Option("3h", help="simulated history sent first (trains the model)"),
) -> None:
    """The whole pipeline end to end (stack, Flink, Feast, history, model, live traffic with
    fraud injected, detector, Dagster runs), shown live with the alerts as they arrive, then
    which injected incidents were caught and how soon, and the URLs."""
    from adnomaly_ops.demo import run
    from adnomaly_ops.demo_fraud import check_seconds

    try:
        check_seconds(seconds)  # refused before minutes of setup
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seconds") from exc
    try:
        result = run(get_settings(), seconds, history, console)
    except RuntimeError as exc:
        console.print(f"[red]demo failed: {exc}")
        raise typer.Exit(1) from exc
    snap = result.snapshot
    if snap.in_postgres == 0 or snap.lake_objects == 0 or snap.feature_rows == 0:
        console.print("[red]the pipeline stored nothing: see `make status` and .adnomaly/logs")
        raise typer.Exit(1)
    if result.quality.caught == 0:
        console.print("[red]the detector caught none of the injected incidents: see .adnomaly/logs")
        raise typer.Exit(1)
