"""The incidents app in a real browser, served by the stack's supervised `ui` service.

Debian's chromium, headless, driven by Playwright. Without a login neither the HTML nor the
rendered page holds any incident; with it, the queue shows the incident the test wrote through
the detector's writer, its page shows the evidence, and a verdict given there is in PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from adnomaly_ops.stack import native
from adnomaly_ops.stack.services import all_services
from adnomaly_ops.stack.supervisor import Supervisor
from adnomaly_ops.stack.tools import tools_for
from streaming.db.connect import connect
from streaming.settings import Settings
from tests.integration.incidents_data import MadeIncident, make_incident

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "e2e"


@pytest.fixture(scope="module")
def made(stack: Settings) -> MadeIncident:
    return make_incident(stack)


@pytest.fixture(scope="module")
def app_url(stack: Settings) -> Iterator[str]:
    sup = Supervisor(stack)
    sup.start("ui")
    (ui,) = [s for s in all_services(stack, tools_for(stack)) if s.name == "ui"]
    native.wait_healthy(stack, [ui], deadline_s=120)
    yield f"http://127.0.0.1:{stack.ui_port}"
    sup.stop("ui")


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # a Streamlit rerun on a loaded 2-core machine
        try:
            yield page
        finally:
            expect.set_options(timeout=5_000)  # Playwright's default, for other tests
            browser.close()


def login(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="user").fill(user)
    page.get_by_role("textbox", name="password").fill(password)
    page.get_by_role("button", name="Log in").click()


def secret(settings: Settings) -> str:
    assert settings.ui_password is not None, "tests/conftest.py sets UI_PASSWORD"
    return settings.ui_password.get_secret_value()


def test_no_login_no_data(stack: Settings, app_url: str, made: MadeIncident, page: Page) -> None:
    with urllib.request.urlopen(f"{app_url}/?incident={made.id}", timeout=10) as resp:  # noqa: S310
        html = resp.read().decode()
    assert resp.status == 200 and made.id not in html.replace(f"incident={made.id}", "")
    page.goto(f"{app_url}/?incident={made.id}")  # a deep link, not logged in
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    body = page.locator("body").inner_text()
    assert made.id not in body and made.earlier_id not in body and "Fraud incidents" not in body

    login(page, app_url, stack.ui_user, secret(stack) + "x")
    expect(page.get_by_text("Wrong user or password.")).to_be_visible()
    body = page.locator("body").inner_text()
    assert made.id not in body and "events/s" not in body


def test_login_find_the_incident_and_record_a_verdict(
    stack: Settings, app_url: str, made: MadeIncident, page: Page
) -> None:
    login(page, app_url, stack.ui_user, secret(stack))
    expect(page.get_by_role("heading", name="Fraud incidents")).to_be_visible()
    expect(page.get_by_text("events/s (last minute)")).to_be_visible()
    # the queue lists the incident; open it by its ID
    page.get_by_label("incident ID").click()
    page.keyboard.type(made.id)
    expect(page.get_by_role("option", name=made.id)).to_be_visible()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Open incident", exact=True).click()

    expect(page.get_by_role("heading", name=f"Incident {made.id}")).to_be_visible()
    expect(page.get_by_text(re.compile(r"suspicious_ua_clicks 41 vs 2\.5"))).to_be_visible()
    expect(page.get_by_text("5 anomalous window(s)", exact=False)).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()
    expect(page.get_by_text(f"Earlier incidents of {made.geo}/{made.platform}")).to_be_visible()
    expect(page.get_by_text("Raw clicks behind it (random sample from PostgreSQL)")).to_be_visible()

    page.get_by_text("confirmed fraud", exact=True).click()
    page.get_by_label("note (optional)").fill("bot user agents, one campaign")
    page.get_by_role("button", name="Record verdict").click()
    expect(page.get_by_text(f"Recorded: confirmed fraud by {stack.ui_user}")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "incident-page.png"), full_page=True)

    page.get_by_role("button", name="← back to the queue").click()
    expect(page.get_by_role("heading", name="Fraud incidents")).to_be_visible()
    with connect(stack) as conn:
        rows = conn.execute(
            "SELECT verdict, analyst, note, geo, platform, incident_start, incident_end"
            " FROM incident_current_verdicts WHERE incident_id = %s",
            (made.id,),
        ).fetchall()
    assert rows == [
        (
            "fraud",
            stack.ui_user,
            "bot user agents, one campaign",
            made.geo,
            made.platform,
            made.start,
            made.end,
        )
    ]


def pick(page: Page, label: str, option: str) -> None:
    """Choose an option of a Streamlit selectbox as a user does: open, type, Enter."""
    page.get_by_label(label).click()
    page.keyboard.type(option)
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    page.keyboard.press("Enter")


def test_filters_and_choosing_a_row_of_the_queue(
    stack: Settings, app_url: str, made: MadeIncident, page: Page
) -> None:
    login(page, app_url, stack.ui_user, secret(stack))
    expect(page.get_by_role("heading", name="Fraud incidents")).to_be_visible()
    pick(page, "geo", made.geo)
    pick(page, "platform", made.platform)
    # this segment's two incidents, the newer first (the queue's table is a canvas: count it)
    expect(page.get_by_text(re.compile(r"^2 incident\(s\)"))).to_be_visible()
    page.get_by_label("incident ID").click()
    options = page.get_by_role("option").all_inner_texts()
    assert options == [made.id, made.earlier_id], options
    page.keyboard.press("Escape")
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    assert grid is not None
    page.mouse.click(grid["x"] + 15, grid["y"] + 35 + 35 + 17)  # second row's selection box
    expect(page.get_by_role("heading", name=f"Incident {made.earlier_id}")).to_be_visible()
    expect(page.get_by_text("2 anomalous window(s)", exact=False)).to_be_visible()
    page.get_by_role("button", name="← back to the queue").click()
    expect(page.get_by_role("heading", name="Fraud incidents")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^2 incident\(s\)"))).to_be_visible()
