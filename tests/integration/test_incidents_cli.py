"""`adnomaly incidents list|verdict` and the incident reads on the suite's real PostgreSQL:
an incident written by the detector's writer is listed, judged, re-judged (history kept), and
bad input is refused with a message naming what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from streaming.db.connect import connect
from streaming.incidents.grouping import incident_id
from streaming.incidents.queries import Filters, get_incident, list_incidents, segment_history
from streaming.settings import Settings
from tests.integration.incidents_data import REASON, MadeIncident, make_incident

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def made(stack: Settings) -> Iterator[MadeIncident]:
    yield make_incident(stack)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # rich sizes tables to the terminal; no truncation
    return subprocess.run(
        [sys.executable, "-m", "adnomaly_cli", "incidents", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def verdict_rows(settings: Settings, incident_id: str) -> list[tuple[str, str, str]]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT verdict, analyst, note FROM incident_verdicts WHERE incident_id = %s"
            " ORDER BY id",
            (incident_id,),
        ).fetchall()
    return [(str(v), str(a), str(n)) for v, a, n in rows]


def test_the_incident_reads_back_whole_and_keeps_its_id_under_any_range(
    stack: Settings, made: MadeIncident
) -> None:
    with connect(stack) as conn:
        incident = get_incident(conn, made.id)
        assert (incident.start, incident.end) == (made.start, made.end)
        assert (incident.windows, incident.peak_score) == (5, made.peak)
        assert incident.reason == REASON and incident.driver_names == ["suspicious_ua_clicks"]
        # a range starting in the middle of the incident still shows it under the same ID
        cut = Filters(since=made.end - timedelta(minutes=1), geo=made.geo, platform=made.platform)
        assert [q.incident.id for q in list_incidents(conn, cut)] == [made.id]
        assert [h.id for h in segment_history(conn, incident)] == [made.earlier_id]
        above = Filters(since=made.start, geo=made.geo, min_score=0.95)
        assert made.id not in [q.incident.id for q in list_incidents(conn, above)]


def test_list_verdict_supersede_and_history(stack: Settings, made: MadeIncident) -> None:
    listed = cli("list", "--since", "2h", "--geo", made.geo, "--platform", made.platform)
    assert listed.returncode == 0, listed.stderr
    assert made.id in listed.stdout and made.earlier_id in listed.stdout
    assert "suspicious_ua_clicks" in listed.stdout

    first = cli("verdict", made.id, "--as", "false-alarm", "--note", "campaign launch")
    assert first.returncode == 0, first.stderr
    assert "false alarm" in first.stdout
    second = cli("verdict", made.id, "--as", "fraud", "--who", "dana")
    assert second.returncode == 0, second.stderr

    rows = verdict_rows(stack, made.id)
    assert [(v, n) for v, _, n in rows] == [("false_alarm", "campaign launch"), ("fraud", "")]
    assert rows[1][1] == "dana" and rows[0][1].endswith("(cli)")
    with connect(stack) as conn:
        (current,) = conn.execute(
            "SELECT verdict FROM incident_current_verdicts WHERE incident_id = %s", (made.id,)
        ).fetchall()
    assert current == ("fraud",)

    judged = cli("list", "--since", "2h", "--geo", made.geo, "--verdict", "fraud")
    assert made.id in judged.stdout and made.earlier_id not in judged.stdout
    untouched = cli("list", "--since", "2h", "--geo", made.geo, "--verdict", "none")
    assert made.earlier_id in untouched.stdout and made.id not in untouched.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as", "maybe"), "verdict 'maybe' is not one of fraud, false-alarm, unsure"),
        (("--as", "fraud", "--note", "x" * 2001), "note is 2001 characters; at most 2000"),
    ],
)
def test_bad_verdicts_are_refused(
    stack: Settings, made: MadeIncident, args: tuple[str, ...], message: str
) -> None:
    before = verdict_rows(stack, made.id)
    result = cli("verdict", made.id, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert verdict_rows(stack, made.id) == before


def test_an_id_that_names_no_incident_start(stack: Settings, made: MadeIncident) -> None:
    inside = incident_id(made.geo, made.platform, made.end)  # its last window, not its start
    result = cli("verdict", inside, "--as", "fraud")
    assert result.returncode == 2 and f"no incident {inside}" in result.stderr, result.stderr
    result = cli("verdict", "US|web|2026-01-01T00:00Z", "--as", "fraud")
    assert result.returncode == 2 and "is not of the form" in result.stderr
