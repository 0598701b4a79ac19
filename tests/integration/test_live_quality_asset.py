"""detection_live_quality on the real stack: fraud labels stored by the generator's producer,
detector results by the detector's writer, verdicts by the verdicts module; the asset
materialized for a good day (check passes) and a bad day (check fails, naming the figures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from adnomaly_dagster.definitions import defs
from streaming.db.connect import connect
from streaming.detection.alerts import incident_key
from streaming.detection.results import write_results
from streaming.generator import FraudIncident, FraudType
from streaming.incidents.queries import get_incident
from streaming.incidents.verdicts import Verdict, record_verdict
from streaming.kafka.topics import ensure_topics
from streaming.producer import ClickProducer
from streaming.settings import Settings

pytestmark = pytest.mark.integration

DEFS = defs()
GOOD_DAY = datetime(2026, 1, 20, tzinfo=UTC)  # no other test writes these days
BAD_DAY = datetime(2026, 1, 21, tzinfo=UTC)


def _label(day: datetime, k: int, geo: str, platform: str, hour: int) -> FraudIncident:
    start = day + timedelta(hours=hour)
    return FraudIncident(
        id=f"inc-{day:%Y%m%d}-{k:02d}-{k:06x}",  # fixed: a rerun stores nothing new
        type=list(FraudType)[k % len(FraudType)],
        geo=geo,
        platform=platform,
        start=start,
        end=start + timedelta(minutes=20),
        intensity=0.8,
    )


def _incident_rows(geo: str, platform: str, first_end: datetime, n: int) -> list[dict[str, Any]]:
    """n anomalous windows sliding by a minute, as the detector writes them."""
    key = incident_key(geo, platform, first_end)
    return [
        {
            "geo": geo,
            "platform": platform,
            "window_start": first_end + timedelta(minutes=i - 5),
            "window_end": first_end + timedelta(minutes=i),
            "score": 0.9,
            "is_anomaly": True,
            "drivers": {"event_count": {"value": 900.0, "expected": 60.0, "z": 12.0}},
            "reason": "event_count 900 vs 60 expected",
            "model_version": "live-quality-test",
            "incident_key": key,
        }
        for i in range(n)
    ]


def _store(
    stack: Settings,
    labels: list[FraudIncident],
    rows: list[dict[str, Any]],
    verdicts: dict[str, Verdict],
) -> None:
    ensure_topics(stack)
    producer = ClickProducer(stack)  # stores labels in fraud_labels and on the labels topic
    producer.send_labels(labels)
    producer.flush(60)
    with connect(stack) as conn:
        write_results(conn, rows)
        for incident, verdict in verdicts.items():
            record_verdict(conn, get_incident(conn, incident), verdict, "test-analyst")


def _materialize(day: datetime) -> tuple[dg.AssetMaterialization, dg.AssetCheckEvaluation]:
    asset = DEFS.resolve_assets_def("detection_live_quality")
    result = dg.materialize([asset], partition_key=f"{day:%Y-%m-%d}", raise_on_error=False)
    assert result.success
    (mat,) = result.asset_materializations_for_node("detection_live_quality")
    (check,) = result.get_asset_check_evaluations()
    return mat, check


def test_good_day_passes_with_labels_caught_and_verdicts_counted(stack: Settings) -> None:
    day = GOOD_DAY
    labels = [_label(day, 0, "US", "ios", 3), _label(day, 1, "DE", "web", 9)]
    labels.append(_label(day, 2, "MT", "android", 15))
    rows: list[dict[str, Any]] = []
    for lb, delay in zip(labels, (2, 3, 4), strict=True):
        rows += _incident_rows(lb.geo, lb.platform, lb.start + timedelta(minutes=delay), 10)
    confirmed = day + timedelta(hours=18)  # no label, but an analyst confirmed it: true
    rows += _incident_rows("FR", "web", confirmed, 4)
    rows += _incident_rows("BR", "ios", day + timedelta(hours=20), 3)  # no label: false
    _store(stack, labels, rows, {f"FR-web-{confirmed:%Y-%m-%dT%H:%M}Z": Verdict.FRAUD})

    mat, check = _materialize(day)
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert (meta["labels"], meta["labels_caught"], meta["alerts"], meta["true_alerts"]) == (
        3,
        3,
        5,
        4,
    )
    assert meta["precision"] == 0.8 and meta["recall"] == 1.0
    assert meta["median_delay_minutes"] == 3.0
    assert "| confirmed fraud | fraud |" in str(meta["alerts_table"])
    assert "data:image/png;base64," in str(meta["charts"])
    assert check.check_name == "live_quality_bounds" and check.passed


def test_bad_day_fails_its_check(stack: Settings) -> None:
    day = BAD_DAY
    labels = [_label(day, k, geo, "web", 2 + 4 * k) for k, geo in enumerate(("US", "DE", "NL"))]
    judged_false = labels[0].start + timedelta(minutes=2)
    rows = _incident_rows("US", "web", judged_false, 6)  # matches a label, judged false alarm
    rows += _incident_rows("DE", "web", labels[1].start + timedelta(minutes=5), 6)  # caught
    rows += _incident_rows("IT", "ios", day + timedelta(hours=19), 3)  # no label
    rows += _incident_rows("ES", "ios", day + timedelta(hours=21), 3)  # no label
    _store(stack, labels, rows, {f"US-web-{judged_false:%Y-%m-%dT%H:%M}Z": Verdict.FALSE_ALARM})

    mat, check = _materialize(day)
    assert mat.metadata["precision"].value == 0.25  # 1 true of 4
    assert mat.metadata["recall"].value == pytest.approx(0.3333, abs=1e-4)  # NL missed, US judged
    assert not check.passed
    assert check.description == "precision 0.250 < 0.5; recall 0.333 < 0.5"
