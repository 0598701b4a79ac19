"""The pure parts of chaos and soak: fault selection, poison records, the memory bound."""

from __future__ import annotations

import pytest

from adnomaly_ops.bench.soak import MEMORY_BOUND_MIB, Sample, _memory_table
from adnomaly_ops.chaos.faults import FAULTS, by_names
from adnomaly_ops.chaos.poison import _MARKER, poison_records
from streaming.contract import ContractError, parse_event
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
    assert [f.target for f in by_names("kafka, poison")] == ["kafka", "poison"]
    assert by_names(None) == list(FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        by_names("kafka,zookeeper")


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
