"""`adnomaly demo` on a short run of the suite's stack: every fraud scenario injected into live
traffic, the detector's alerts, and the closing table of what was caught and how soon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from adnomaly_ops.demo import run
from adnomaly_ops.demo_fraud import MIN_SECONDS
from streaming.db.connect import connect
from streaming.generator import FraudType
from streaming.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.whole_pipeline]


@pytest.mark.timeout(2400)
def test_short_demo_tables_every_injected_incident_and_catches_them(stack: Settings) -> None:
    console = Console(record=True, width=220)
    result = run(stack, seconds=MIN_SECONDS, history="2h", console=console)
    text = console.export_text()
    quality = result.quality

    scenarios = sorted(o.label.scenario for o in quality.labels)
    assert scenarios == sorted(t.value for t in FraudType), "one incident of every scenario"
    with connect(stack) as conn:  # stored by the generator's producer, as the table says
        stored = conn.execute(
            "SELECT count(*) FROM fraud_labels WHERE incident_id = ANY(%s)",
            ([o.label.incident_id for o in quality.labels],),
        ).fetchone()
    assert stored == (len(FraudType),)

    summary = text[text.index("Adnomaly demo: fraud caught") :]
    for o in quality.labels:
        row = next(line for line in summary.splitlines() if o.label.scenario in line)
        assert f"{o.label.geo}/{o.label.platform}" in row
        assert ("yes" in row) == o.caught, row
        if o.caught:
            assert o.delay is not None and o.delay < timedelta(minutes=5), o
            assert o.alerts[0] in row
    assert quality.caught >= len(FraudType) - 1, [
        (o.label.scenario, o.caught) for o in quality.labels
    ]
    assert f"{quality.caught} of {len(FraudType)} caught" in summary
    assert f"http://127.0.0.1:{stack.ui_port}" in summary and stack.ui_user in summary
