"""End to end in a real browser: the Dagster UI of the suite's stack shows the asset graph,
launches a materialization and reports it succeeded.

Debian's chromium, headless, driven by Playwright; flags keep it off this machine's closed
network (background networking, component updates, sync).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

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
    """A fresh instance greets with a community dialog; skip it like a user would."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except PlaywrightTimeout:
        return


def test_asset_graph_and_materialization(dagster_ui: str, page: Page) -> None:
    page.goto(f"{dagster_ui}/asset-groups")
    _dismiss_welcome(page)
    expect(page.get_by_text("Global asset lineage")).to_be_visible(timeout=60_000)
    for group in ("ingest", "lake", "warehouse"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.goto(f"{dagster_ui}/assets/postgres_schema?view=lineage")
    expect(page.get_by_text("warehouse_daily_stats").first).to_be_visible(timeout=60_000)

    page.goto(f"{dagster_ui}/assets/postgres_schema")
    page.locator("button", has_text=re.compile(r"^Materialize$")).first.click()
    expect(page.get_by_text(re.compile(r"Launched run"))).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="View").or_(page.get_by_text("View", exact=True)).first.click()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=240_000)
    page.screenshot(path=_shot_path(), full_page=True)


def _shot_path() -> str:
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "reports" / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    return str(out / "dagster-runs.png")
