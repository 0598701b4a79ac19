"""End to end in a real browser: the Dagster UI of the suite's stack (run by `dg dev`) shows the
asset graph, launches a materialization and reports it succeeded, and shows the stream-health
sensor's failed check on an ingest asset.

Debian's chromium, headless, driven by Playwright; flags keep it off this machine's closed
network (background networking, component updates, sync).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from adnomaly_ops.stack import native
from adnomaly_ops.stack.services import dagster_service
from adnomaly_ops.stack.supervisor import Supervisor
from streaming.settings import Settings

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def dagster_ui(stack: Settings) -> Iterator[str]:
    sup = Supervisor(stack)
    sup.start("dagster")
    native.wait_healthy(stack, [dagster_service(stack)], deadline_s=240)
    yield f"http://127.0.0.1:{stack.dagster_port}"
    sup.stop("dagster")


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _dismiss_welcome(page: Page) -> None:
    """A fresh instance greets with a community dialog, at a moment of its choosing; skip it
    like a user would whenever it covers what the test clicks."""
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda button: button.click())


def test_asset_graph_and_materialization(dagster_ui: str, page: Page) -> None:
    page.goto(f"{dagster_ui}/asset-groups")
    _dismiss_welcome(page)
    expect(page.get_by_text("Global asset lineage")).to_be_visible(timeout=60_000)
    for group in ("ingest", "lake", "warehouse", "features", "detection"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.goto(f"{dagster_ui}/assets/postgres_schema?view=lineage")
    expect(page.get_by_text("warehouse_daily_stats").first).to_be_visible(timeout=60_000)

    page.goto(f"{dagster_ui}/assets/postgres_schema")
    page.locator("button", has_text=re.compile(r"^Materialize$")).first.click()
    expect(page.get_by_text(re.compile(r"Launched run"))).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="View").or_(page.get_by_text("View", exact=True)).first.click()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=240_000)
    page.screenshot(path=_shot_path("dagster-runs.png"), full_page=True)


def test_stream_health_shows_as_a_failed_check(dagster_ui: str, page: Page) -> None:
    """The suite's stack runs Flink without the features job: within a sensor tick or two the
    job's `job_running` check is reported failed, with no run involved."""
    _dismiss_welcome(page)
    end = time.monotonic() + 180
    failed = page.get_by_text("Failed", exact=True).first
    while True:
        page.goto(f"{dagster_ui}/assets/flink_features_job?view=checks")
        expect(page.get_by_text("job_running").first).to_be_visible(timeout=60_000)
        try:
            expect(failed).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            if time.monotonic() > end:
                page.screenshot(path=_shot_path("dagster-checks-timeout.png"), full_page=True)
                raise
    page.screenshot(path=_shot_path("dagster-stream-health.png"), full_page=True)


def _shot_path(name: str) -> str:
    out = Path(__file__).resolve().parents[2] / "reports" / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    return str(out / name)
