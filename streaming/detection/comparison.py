"""Champion versus challenger on the same windows and the same fraud labels, and the rule that
decides a promotion.

Both versions' anomaly_results rows are read over the span both scored (the later of their
first windows to the earlier of their last), each version's anomalous windows are grouped into
incidents and matched to fraud_labels with the live-quality rules (streaming/incidents/
quality.py, without analysts' verdicts: those judge the champion's incidents only, so using them
would favour one side).

PROMOTION RULE: the challenger is promoted when, over at least `min_labels` judged fraud labels,
its F1 is higher than the champion's by at least `min_f1_gain` (default 0.02) and its recall is
not lower. Fewer labels: no decision (a handful of incidents says little).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from streaming.incidents.grouping import Window
from streaming.incidents.quality import Quality, assess
from streaming.incidents.quality_reads import MARGIN, labels_between

SPAN = "SELECT min(window_end), max(window_end) FROM anomaly_results WHERE model_version = %s"
ANOMALOUS = (
    "SELECT geo, platform, window_start, window_end, score, drivers, reason FROM anomaly_results"
    " WHERE model_version = %s AND is_anomaly AND window_end >= %s AND window_end < %s"
)


@dataclass(frozen=True)
class Rule:
    min_f1_gain: float = 0.02
    min_labels: int = 5

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_f1_gain <= 1.0:
            raise ValueError(f"min_f1_gain {self.min_f1_gain} is outside [0, 1]")
        if self.min_labels < 1:
            raise ValueError(f"min_labels {self.min_labels} must be at least 1")

    def text(self) -> str:
        return (
            f"promote when, over >= {self.min_labels} judged fraud labels, the challenger's F1 "
            f"beats the champion's by >= {self.min_f1_gain:.2f} and its recall is not lower"
        )


@dataclass(frozen=True)
class Scores:
    version: str
    alerts: int
    labels: int
    caught: int
    precision: float | None
    recall: float | None
    f1: float | None
    median_delay_s: float | None

    @classmethod
    def of(cls, version: str, quality: Quality) -> Scores:
        p, r = quality.precision, quality.recall
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None
        if p is not None and r is not None and p + r == 0:
            f1 = 0.0
        delay = quality.median_delay
        return cls(
            version,
            len(quality.alerts),
            len(quality.labels),
            quality.caught,
            p,
            r,
            f1,
            delay.total_seconds() if delay is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    promote: bool
    why: str


def decide(champion: Scores, challenger: Scores, rule: Rule) -> Decision:
    """The promotion rule (module docstring) applied to two versions' scores."""
    if challenger.labels < rule.min_labels:
        return Decision(False, f"{challenger.labels} judged label(s) < {rule.min_labels}")
    c_f1, k_f1 = champion.f1 or 0.0, challenger.f1 or 0.0
    c_rec, k_rec = champion.recall or 0.0, challenger.recall or 0.0
    if k_rec < c_rec:
        return Decision(False, f"challenger recall {k_rec:.3f} < champion {c_rec:.3f}")
    if k_f1 - c_f1 < rule.min_f1_gain - 1e-12:
        return Decision(
            False, f"F1 gain {k_f1 - c_f1:+.3f} < {rule.min_f1_gain:.2f} ({k_f1:.3f} vs {c_f1:.3f})"
        )
    return Decision(True, f"F1 {k_f1:.3f} vs {c_f1:.3f}, recall {k_rec:.3f} vs {c_rec:.3f}")


def common_span(
    conn: psycopg.Connection, first: str, second: str
) -> tuple[datetime, datetime] | None:
    """[start, end) both versions scored, or None when they share no window."""
    with conn.transaction():
        a = conn.execute(SPAN, (first,)).fetchone()
        b = conn.execute(SPAN, (second,)).fetchone()
    if not a or not b or None in (*a, *b):
        return None
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end + timedelta(microseconds=1)) if start <= end else None


def _windows(conn: psycopg.Connection, version: str, since: datetime, until: datetime) -> list:
    with conn.transaction():
        rows = conn.execute(ANOMALOUS, (version, since, until)).fetchall()
    return [
        Window(g.strip(), p, ws, we, float(s), d or {}, r or "") for g, p, ws, we, s, d, r in rows
    ]


def compare(
    conn: psycopg.Connection, champion: str, challenger: str, judged_until: datetime | None = None
) -> tuple[tuple[datetime, datetime], Scores, Scores] | None:
    """Both versions' scores over the span both scored, or None without a common span."""
    span = common_span(conn, champion, challenger)
    if span is None:
        return None
    labels = labels_between(conn, span[0] - MARGIN, span[1] + MARGIN)
    scores = [
        Scores.of(v, assess(labels, _windows(conn, v, *span), {}, span, judged_until))
        for v in (champion, challenger)
    ]
    return span, scores[0], scores[1]


@dataclass(frozen=True)
class Outcome:
    champion: str | None
    challenger: str | None
    span: tuple[datetime, datetime] | None
    scores: tuple[Scores, Scores] | None
    decision: Decision
    promoted: bool


def compare_and_promote(
    conn: psycopg.Connection,
    settings: Any,
    client: Any,
    prefix: str,
    rule: Rule,
    judged_until: datetime | None = None,
) -> Outcome:
    """Compare the stored champion and challenger, record both versions' scores in the roles
    object, and promote the challenger when `rule` says so."""
    from streaming.detection.roles import Roles, current_roles, update_roles
    from streaming.detection.store import list_versions, promote_version

    versions = list_versions(settings, client=client, prefix=prefix)
    roles = current_roles(settings, client, prefix, versions)
    champion, challenger = roles.champion, roles.challenger
    if champion is None or challenger is None:
        why = "no challenger to compare" if champion else "no model stored"
        return Outcome(champion, challenger, None, None, Decision(False, why), False)
    found = compare(conn, champion, challenger, judged_until)
    if found is None:
        why = "the two versions have scored no common window yet"
        return Outcome(champion, challenger, None, None, Decision(False, why), False)
    span, c_scores, k_scores = found
    decision = decide(c_scores, k_scores, rule)

    def record(roles: Roles) -> None:
        roles.scores[champion] = {**c_scores.as_dict(), "compared_with": challenger}
        roles.scores[challenger] = {**k_scores.as_dict(), "compared_with": champion}

    roles, _ = update_roles(settings, client, prefix, versions, record)
    promoted = decision.promote and roles.challenger == challenger
    if promoted:
        promote_version(challenger, settings, "model_comparison", client=client, prefix=prefix)
    return Outcome(champion, challenger, span, (c_scores, k_scores), decision, promoted)
