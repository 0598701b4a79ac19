"""`adnomaly tail-features` rendering, without Kafka or PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from adnomaly_cli import tail_features_cmd as tail
from streaming.feature_contract import FeatureRow
from streaming.settings import load_settings

END = datetime(2030, 1, 1, 0, 5, tzinfo=UTC)


def row(geo: str, end: datetime, events: int) -> bytes:
    return FeatureRow(
        geo=geo,
        platform="ios",
        window_start=end - timedelta(minutes=5),
        window_end=end,
        ctr_avg=0.02,
        bounce_rate_avg=0.5,
        event_count=events,
        cpc_avg=0.4,
        conversion_rate=0.1,
        unique_users=events,
        events_per_user=1.0,
        suspicious_ua_share=0.25,
    ).to_json_bytes()


def rendered(view: tail._View) -> str:
    console = Console(width=120, record=True)
    console.print(view.table())
    return console.export_text()


def test_replayed_rows_show_once_newest_window_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "dropped_counts", lambda settings: "late 3")  # no database here
    view = tail._View(
        load_settings(
            HASH_SALT="s",
            DB_PASSWORD="p",
            MINIO_ACCESS_KEY="a",
            MINIO_SECRET_KEY="b",
            REDIS_PASSWORD="c",
        )
    )
    for raw in (row("US", END, 7), row("US", END, 7), row("DE", END + timedelta(minutes=1), 9)):
        view.add(raw)
    view.add(b'{"geo": "US"}')
    text = rendered(view)
    assert "4 rows, 1 unreadable | dropped: late 3" in text
    lines = [line for line in text.splitlines() if " ios " in line]
    assert [line.split()[1] for line in lines] == ["DE", "US"]
    assert "00:01-00:06" in lines[0] and "0.250" in lines[0]
