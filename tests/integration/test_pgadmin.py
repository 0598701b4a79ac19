"""pgAdmin in the native stack: the login from the settings, the stack's PostgreSQL registered
and connectable (its password from the passfile the stack writes), a wrong password refused."""

from __future__ import annotations

import re

import pytest
import requests

from streaming.settings import Settings

pytestmark = pytest.mark.integration
TIMEOUT_S = 30


def _base(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.pgadmin_port}"


def _login(settings: Settings, password: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{_base(settings)}/login", timeout=TIMEOUT_S)
    token = re.search(r'csrfToken": "([^"]+)', page.text)
    assert token, "no CSRF token on pgAdmin's login page"
    response = session.post(
        f"{_base(settings)}/authenticate/login",
        data={"email": settings.pgadmin_email, "password": password, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    return session, response


def test_login_from_settings_sees_and_connects_the_stack_postgres(stack: Settings) -> None:
    session, response = _login(stack, stack.require_pgadmin_password())
    assert response.headers.get("Location") == "/browser/"
    utils = session.get(f"{_base(stack)}/browser/js/utils.js", timeout=TIMEOUT_S)
    token = re.search(r"csrf_token'\] = '([^']+)", utils.text)
    assert token, "logged in, but no API token"
    headers = {"X-pgA-CSRFToken": token[1]}

    groups = session.get(
        f"{_base(stack)}/browser/server_group/nodes/", headers=headers, timeout=TIMEOUT_S
    ).json()["data"]
    (group,) = [g["_id"] for g in groups if g["label"] == "Adnomaly"]
    servers = session.get(
        f"{_base(stack)}/browser/server/nodes/{group}/", headers=headers, timeout=TIMEOUT_S
    ).json()["result"]
    (server,) = servers
    assert server["username"] == stack.db_user
    assert server["db"] == stack.db_name
    assert str(stack.db_port) in server["label"]

    connected = session.post(
        f"{_base(stack)}/browser/server/connect/{group}/{server['_id']}",
        headers=headers,
        json={},
        timeout=TIMEOUT_S,
    ).json()
    assert connected["success"] == 1, connected.get("errormsg")
    assert connected["data"]["connected"] is True


def test_wrong_password_is_refused(stack: Settings) -> None:
    session, response = _login(stack, stack.require_pgadmin_password() + "-wrong")
    assert response.headers.get("Location") == "/login"
    browser = session.get(f"{_base(stack)}/browser/", allow_redirects=False, timeout=TIMEOUT_S)
    assert browser.status_code == 302
    assert "/login" in browser.headers["Location"]


def test_no_data_without_login(stack: Settings) -> None:
    response = requests.get(
        f"{_base(stack)}/browser/server_group/nodes/", allow_redirects=False, timeout=TIMEOUT_S
    )
    assert response.status_code in (302, 401)
    assert stack.db_user not in response.text
