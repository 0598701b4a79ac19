"""Analysts' verdicts: the three answers, who may give one, and their append-only table.

A verdict is stored with the incident's segment and span, never updated: a new verdict for the
same incident supersedes the previous one (the view incident_current_verdicts shows the latest),
and the earlier ones stay as history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg

from streaming.incidents.grouping import Incident

MAX_NOTE = 2000  # the table's CHECK says the same
NO_VERDICT = "none"  # the verdict filter's value for incidents nobody has judged yet


class Verdict(StrEnum):
    FRAUD = "fraud"
    FALSE_ALARM = "false_alarm"
    UNSURE = "unsure"

    @property
    def label(self) -> str:
        return {"fraud": "confirmed fraud", "false_alarm": "false alarm", "unsure": "unsure"}[
            self.value
        ]

    @property
    def cli_name(self) -> str:
        return self.value.replace("_", "-")


CLI_CHOICES = tuple(v.cli_name for v in Verdict)


class VerdictError(ValueError):
    """A verdict that cannot be recorded; the message says which part is wrong."""


@dataclass(frozen=True)
class VerdictRecord:
    incident_id: str
    verdict: Verdict
    analyst: str
    decided_at: datetime
    note: str


def parse_verdict(text: str) -> Verdict:
    """'fraud', 'false-alarm' (or false_alarm), 'unsure', in any case."""
    value = text.strip().lower().replace("-", "_")
    try:
        return Verdict(value)
    except ValueError:
        raise VerdictError(f"verdict {text!r} is not one of {', '.join(CLI_CHOICES)}") from None


def check_verdict(analyst: str, note: str) -> tuple[str, str]:
    """The analyst's name and the note as stored; VerdictError when either is unusable."""
    who, text = analyst.strip(), note.strip()
    if not who:
        raise VerdictError("a verdict needs the analyst's name")
    if len(text) > MAX_NOTE:
        raise VerdictError(f"note is {len(text)} characters; at most {MAX_NOTE}")
    if any(ch in text for ch in "\x00"):
        raise VerdictError("note contains a NUL character")
    return who, text


def record_verdict(
    conn: psycopg.Connection, incident: Incident, verdict: Verdict, analyst: str, note: str = ""
) -> VerdictRecord:
    """Append a verdict (it supersedes the incident's earlier ones) and return it as stored."""
    who, text = check_verdict(analyst, note)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO incident_verdicts (incident_id, geo, platform, incident_start,"
            " incident_end, verdict, analyst, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING decided_at",
            (
                incident.id,
                incident.geo,
                incident.platform,
                incident.start,
                incident.end,
                verdict.value,
                who,
                text,
            ),
        ).fetchone()
    assert row is not None
    return VerdictRecord(incident.id, verdict, who, row[0], text)


def current_verdicts(conn: psycopg.Connection, ids: list[str]) -> dict[str, VerdictRecord]:
    """The verdict in force for each of `ids` that has one."""
    if not ids:
        return {}
    with conn.transaction():
        rows = conn.execute(  # the view incident_current_verdicts, on the table itself: a
            # service role is granted tables (streaming/db/roles.py), not views
            "SELECT DISTINCT ON (incident_id) incident_id, verdict, analyst, decided_at, note"
            " FROM incident_verdicts WHERE incident_id = ANY(%s)"
            " ORDER BY incident_id, decided_at DESC, id DESC",
            (ids,),
        ).fetchall()
    return {r[0]: VerdictRecord(r[0], Verdict(r[1]), r[2], r[3], r[4]) for r in rows}


def verdict_history(conn: psycopg.Connection, incident_id: str) -> list[VerdictRecord]:
    """Every verdict of one incident, newest (the one in force) first."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT incident_id, verdict, analyst, decided_at, note FROM incident_verdicts"
            " WHERE incident_id = %s ORDER BY decided_at DESC, id DESC",
            (incident_id,),
        ).fetchall()
    return [VerdictRecord(r[0], Verdict(r[1]), r[2], r[3], r[4]) for r in rows]
