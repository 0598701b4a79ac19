"""`adnomaly ui`: serve the incidents app (adnomaly_app, Streamlit) on UI_HOST:UI_PORT.

The process becomes Streamlit (exec), so the supervisor's stop signal reaches the server itself.
"""

from __future__ import annotations

import os
import sys

import typer

from streaming.settings import PROJECT_ROOT, get_settings

APP_SCRIPT = PROJECT_ROOT / "adnomaly_app" / "app.py"


def ui() -> None:
    """The incidents app: queue, incident pages, verdicts, pipeline health (login required)."""
    settings = get_settings()
    if settings.ui_password is None or not settings.ui_password.get_secret_value():
        typer.secho(
            "error: UI_PASSWORD is not set (see .env.example); the incidents app needs a login",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    argv = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT)]
    argv += ["--server.address", settings.ui_host, "--server.port", str(settings.ui_port)]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    argv += ["--server.fileWatcherType", "none", "--global.developmentMode", "false"]
    argv += ["--client.toolbarMode", "minimal", "--server.runOnSave", "false"]
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # noqa: S606 (our interpreter, fixed arguments)
