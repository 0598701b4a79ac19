"""The stream services' metrics (streaming/metrics.py) without servers: what a batch adds to
each family, the generator's running totals turned into counter increments, and when a
service exports (never twice, never when turned off, a taken port only a warning)."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client import REGISTRY

from streaming import metrics
from streaming.settings import METRICS_OFFSETS, load_settings


def _value(name: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(name, labels)
    assert found is not None, f"{name}{labels} not exported"
    return found


def test_a_written_batch_counts_records_size_latency_and_newest_event() -> None:
    m = metrics.StreamMetrics("db-sink", "unit-1", "clickstream", "g-unit")
    labels = {"service": "db-sink", "instance": "unit-1"}
    m.consumed.inc(120)
    m.rejected.inc(3)
    m.batch_written(written=110, batch=117, seconds=0.04, newest_event_s=1_700_000_000.5)
    m.batch_written(written=0, batch=5, seconds=0.01, newest_event_s=1_600_000_000.0)
    assert _value("adnomaly_stream_records_consumed_total", **labels) == 120
    assert _value("adnomaly_stream_records_written_total", **labels) == 110
    assert _value("adnomaly_stream_records_dead_lettered_total", **labels) == 3
    assert _value("adnomaly_stream_batch_size_records_count", **labels) == 2
    assert _value("adnomaly_stream_batch_size_records_sum", **labels) == 122
    assert _value("adnomaly_stream_write_duration_seconds_bucket", le="0.05", **labels) == 2
    # an older event in a later batch (a redelivery) does not move the newest event back
    assert _value("adnomaly_stream_newest_event_timestamp_seconds", **labels) == 1_700_000_000.5
    assert 0 <= _value("adnomaly_stream_newest_write_age_seconds", **labels) < 5


def test_an_unhandled_batch_counts_as_consumed_only() -> None:
    m = metrics.StreamMetrics("detector", "unit-2", "features", "g-unit")
    labels = {"service": "detector", "instance": "unit-2"}
    m.handled(consumer=None, consumed=40, written=0, rejected=0, seconds=1.0)  # type: ignore[arg-type]
    assert _value("adnomaly_stream_records_consumed_total", **labels) == 40
    assert _value("adnomaly_stream_batch_size_records_count", **labels) == 0


def test_generator_totals_become_increments() -> None:
    g = metrics.GeneratorMetrics("unit-gen")
    labels = {"service": "generator", "instance": "unit-gen"}
    g.sync(100, produced=100, acked=60, failed=0)
    g.sync(50, produced=150, acked=150, failed=2)
    g.sync(0, produced=150, acked=150, failed=2)
    assert _value("adnomaly_generator_events_produced_total", **labels) == 150
    assert _value("adnomaly_generator_events_acked_total", **labels) == 150
    assert _value("adnomaly_generator_events_failed_total", **labels) == 2
    assert _value("adnomaly_generator_batch_size_events_count", **labels) == 2
    assert _value("adnomaly_generator_last_ack_timestamp_seconds", **labels) > 0


def _free_base() -> int:
    """A METRICS_PORT whose generator port (+1) is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1]) - 1


def test_serve_exports_once_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_serving", {})
    off = load_settings(ADNOMALY_EXPORT_METRICS="0", METRICS_PORT=str(_free_base()))
    assert metrics.serve(off, "generator") is None
    on = load_settings(ADNOMALY_EXPORT_METRICS="1", METRICS_PORT=str(_free_base()))
    port = metrics.serve(on, "generator")
    assert port == on.metrics_ports["generator"]
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    assert b"adnomaly_generator_events_produced_total" in body
    assert metrics.serve(on, "generator") == port  # a second call does not bind again
    with pytest.raises(ValueError, match="no metrics port for service 'nope'"):
        metrics.serve(on, "nope")


def test_a_taken_port_is_a_warning_not_a_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(metrics, "_serving", {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        base = int(taken.getsockname()[1]) - METRICS_OFFSETS["db-sink"]
        settings = load_settings(ADNOMALY_EXPORT_METRICS="1", METRICS_PORT=str(base))
        assert metrics.serve(settings, "db-sink") is None
    assert "metrics not exported" in caplog.text
