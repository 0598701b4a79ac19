"""Clickstream generator: realistic, reproducible ad traffic with labelled fraud incidents.

The producer drives it (history mode shown; live mode calls `events_between(last, now, rate)`
on every tick, or `batch_for_now(n)` when it wants a fixed pace)::

    gen = TrafficGenerator(seed=7, hash_salt=settings.hash_salt.get_secret_value())
    for batch in gen.events_between(start, end, base_rate_eps=120):
        for key, value in batch.pairs():  # validated wire bytes, key b"geo|platform"
            producer.produce(topic, value, key)
        for incident in batch.incidents:  # labels overlapping this batch; dedupe by id
            producer.produce(labels_topic, incident.to_json_bytes(), incident.id.encode())
"""

from streaming.generator.batch import SEGMENT_KEYS, EventBatch, segment_of
from streaming.generator.incidents import FraudIncident, FraudType, IncidentScheduler
from streaming.generator.rate_shape import rate_multiplier
from streaming.generator.traffic_generator import TrafficGenerator
from streaming.generator.users import user_hash

__all__ = [
    "SEGMENT_KEYS",
    "EventBatch",
    "FraudIncident",
    "FraudType",
    "IncidentScheduler",
    "TrafficGenerator",
    "rate_multiplier",
    "segment_of",
    "user_hash",
]
