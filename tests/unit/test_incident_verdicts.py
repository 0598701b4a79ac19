"""Verdict rules (three answers, a named analyst, a bounded note) and the app's login check."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from adnomaly_app.auth import credentials_match
from adnomaly_app.charts import panel_order
from streaming.incidents.verdicts import (
    CLI_CHOICES,
    MAX_NOTE,
    Verdict,
    VerdictError,
    check_verdict,
    parse_verdict,
)
from streaming.settings import load_settings


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("fraud", Verdict.FRAUD),
        ("false-alarm", Verdict.FALSE_ALARM),
        ("false_alarm", Verdict.FALSE_ALARM),
        (" Unsure ", Verdict.UNSURE),
    ],
)
def test_the_three_verdicts_as_typed(text: str, verdict: Verdict) -> None:
    assert parse_verdict(text) is verdict


def test_cli_names_and_labels() -> None:
    assert CLI_CHOICES == ("fraud", "false-alarm", "unsure")
    assert [v.label for v in Verdict] == ["confirmed fraud", "false alarm", "unsure"]


@pytest.mark.parametrize("text", ["maybe", "", "fraudulent", "false alarm"])
def test_anything_else_is_refused_listing_the_choices(text: str) -> None:
    with pytest.raises(VerdictError, match="is not one of fraud, false-alarm, unsure"):
        parse_verdict(text)


def test_analyst_and_note_rules() -> None:
    assert check_verdict("  ana ", "  bot farm \n") == ("ana", "bot farm")
    with pytest.raises(VerdictError, match="analyst's name"):
        check_verdict("   ", "note")
    with pytest.raises(VerdictError, match=f"at most {MAX_NOTE}"):
        check_verdict("ana", "x" * (MAX_NOTE + 1))
    with pytest.raises(VerdictError, match="NUL"):
        check_verdict("ana", "a\x00b")
    assert check_verdict("ana", "x" * MAX_NOTE)[1] == "x" * MAX_NOTE


def test_login_needs_both_fields_and_a_configured_password() -> None:
    settings = load_settings().model_copy(
        update={"ui_user": "analyst", "ui_password": SecretStr("s3cret-pass")}
    )
    assert credentials_match(settings, "analyst", "s3cret-pass")
    assert not credentials_match(settings, "analyst", "s3cret-pas")
    assert not credentials_match(settings, "analys", "s3cret-pass")
    assert not credentials_match(settings, "", "")
    unset = settings.model_copy(update={"ui_password": None})
    assert not credentials_match(unset, "analyst", "")


def test_chart_panels_put_the_drivers_first() -> None:
    order = panel_order(["suspicious_ua_clicks", "multivariate", "ctr_avg"])
    assert order[:3] == ["score", "suspicious_ua_share", "ctr_avg"]
    assert len(order) == len(set(order)) == 9
