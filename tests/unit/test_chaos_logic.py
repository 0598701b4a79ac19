"""The pure parts of chaos and soak: fault selection, poison records, the memory bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adnomaly_ops.bench.soak import MEMORY_BOUND_MIB, Sample, _memory_table
from adnomaly_ops.chaos.faults import FAULTS, HA_FAULTS, absorbed, by_names, faults_for
from adnomaly_ops.chaos.ledger import longest_gap
from adnomaly_ops.chaos.poison import _MARKER, poison_records
from streaming.contract import ContractError, parse_event
from streaming.settings import Settings
from streaming.sinks.records import MAX_EVENT_BYTES


def test_every_fault_the_issue_names_is_injected() -> None:
    targets = {f.target for f in FAULTS}
    assert {
        "db-sink",
        "lake-sink",
        "feast-ingestor",
        "detector",
        "kafka",
        "postgres",
        "minio",
        "redis",
        "flink-taskmanager",
    } <= targets
    assert [f.kind for f in FAULTS].count("poison") == 1


def test_faults_are_chosen_by_target_and_unknown_names_are_refused() -> None:
    single = Settings()
    assert [f.target for f in by_names(single, "kafka, poison")] == ["kafka", "poison"]
    assert by_names(single, None) == list(FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        by_names(single, "kafka,zookeeper")
    with pytest.raises(ValueError, match="unknown fault"):  # an HA fault on the single node
        by_names(single, "minio-drive")


def test_the_ha_profile_adds_its_faults_and_must_absorb_the_losses_of_one_part() -> None:
    ha = Settings(ADNOMALY_PROFILE="ha")
    assert faults_for(ha) == FAULTS + HA_FAULTS
    assert {f.target for f in HA_FAULTS} == {
        "kafka-leader",
        "flink-taskmanager-2",
        "minio-drive",
        "kafka-leader+db-sink",
    }
    must = {f.name for f in faults_for(ha) if absorbed(ha, f)}
    assert {"sigkill db-sink", "sigkill detector", "restart kafka", "lose minio drive"} <= must
    assert not must & {"restart postgres", "restart redis", "poison burst"}  # they run once
    assert not any(absorbed(Settings(), f) for f in FAULTS)


T0 = datetime(2026, 12, 2, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_longest_gap_spans_the_stretch_with_nothing_stored_while_producing() -> None:
    last = T0 + timedelta(seconds=10)
    assert longest_gap(_at(0.5, 1, 1.5, 7.5, 8, 10.2), T0, last) == pytest.approx(6.0)
    # the first store came late: the stretch starts with the production
    assert longest_gap(_at(3, 4, 10.1), T0, last) == pytest.approx(6.1)
    # stores after the last event that ended the stretch count; later ones do not
    assert longest_gap(_at(1, 12, 30), T0, last) == pytest.approx(11.0)
    # nothing stored at all: the whole production
    assert longest_gap([], T0, last) == pytest.approx(10.0)


def test_poison_records_are_rejected_for_each_reason_and_carry_their_number() -> None:
    records = poison_records("abcd1234", per_kind=2)
    assert len(records) == 6
    numbers = [int(_MARKER.search(r).group(2)) for r in records]  # type: ignore[union-attr]
    assert numbers == list(range(6))
    assert sum(len(r) > MAX_EVENT_BYTES for r in records) == 2
    for raw in records:
        with pytest.raises(ContractError):
            parse_event(raw)


def _sample(at_s: float, **rss: float) -> Sample:
    return Sample(at_s, 0, {}, dict(rss))


def test_memory_growth_is_judged_after_the_warm_up() -> None:
    samples = [
        _sample(5, kafka=300, sink=100),
        _sample(60, kafka=700, sink=120),
        _sample(600, kafka=760, sink=120 + MEMORY_BOUND_MIB + 1),
    ]
    table = _memory_table({"kafka": 250, "sink": 90}, samples, warmup_s=60)
    assert table["kafka"]["ok"] and table["kafka"]["growth"] == 60  # heap filling is warm-up
    assert not table["sink"]["ok"]  # steady growth beyond the bound after warm-up is a leak
