"""Online feature store benchmark, on a scratch Feast project so real online values are untouched.

Ingest: FeatureRows produced to a fresh topic, then rows/s of the ingestor (first record → last
commit) against a raw consume of the same topic by a new group, the ceiling of any consumer.
Latency: `online_features` (Feast's get_online_features plus the TTL check) for 1 and for 100
entity rows, against raw HMGETs of the same Redis keys and fields in the same run.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import product
from typing import Any, cast

import redis
from confluent_kafka import Consumer, Producer

from adnomaly_ops.bench.common import BenchResult, median_result
from streaming.contract import GEOS, PLATFORMS
from streaming.feature_contract import FEATURE_NAMES, FeatureRow
from streaming.features.ingestor import FeatureIngestor
from streaming.features.retrieval import online_features
from streaming.features.scratch import scratch_store
from streaming.kafka.config import consumer_config, producer_config
from streaming.kafka.topics import DAY_MS, TopicSpec, admin_client, ensure_topics
from streaming.settings import Settings

ENTITIES = [{"geo": g, "platform": p} for g, p in product(GEOS, PLATFORMS)]  # 108


def _produce(settings: Settings, topic: str, n: int) -> None:
    ensure_topics(settings, [TopicSpec(topic, 3, DAY_MS, "online benchmark")])
    producer = Producer(producer_config(settings, "adnomaly-bench-online"))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    constant = {"ctr_avg": 0.02, "bounce_rate_avg": 0.5, "cpc_avg": 0.4, "conversion_rate": 0.01}
    constant |= {"unique_users": 5, "events_per_user": 2.0, "suspicious_ua_share": 0.1}
    for i in range(n):
        end = now - timedelta(minutes=(n - i) // len(ENTITIES))  # one window per entity a minute
        row = FeatureRow.model_validate(
            {
                **ENTITIES[i % len(ENTITIES)],
                "window_start": end - timedelta(minutes=5),
                "window_end": end,
                "event_count": 10 + i % 90,
                **constant,
            }
        )
        producer.produce(topic, row.to_json_bytes(), row.key)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError(f"benchmark rows not acknowledged by Kafka ({topic})")


def _raw_consume(settings: Settings, topic: str, n: int) -> float:
    consumer = Consumer(consumer_config(settings, "bench-raw", f"bench-raw-{uuid.uuid4().hex}"))
    consumer.subscribe([topic])
    seen, first, deadline = 0, 0.0, time.monotonic() + 120
    try:
        while seen < n and time.monotonic() < deadline:
            got = [m for m in consumer.consume(5_000, 0.5) if m.error() is None]
            if got and not seen:
                first = time.monotonic()
            seen += len(got)
    finally:
        consumer.close()
    return seen / max(time.monotonic() - first, 1e-9) if seen else 0.0


def _percentiles(call: Callable[[], object], samples: int) -> tuple[float, float]:
    for _ in range(min(100, samples)):
        call()  # warm up connections and caches
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


def _redis_keys(store: Any, rows: list[dict[str, str]]) -> list[Any]:
    """The Redis key of each entity row as Feast's Redis store builds it: the serialized entity
    key (Feast's public encoder, the repo's serialization version) followed by the project."""
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    version = store.config.entity_key_serialization_version
    keys: list[Any] = []
    for row in rows:
        values = [Value(string_val=row["geo"]), Value(string_val=row["platform"])]
        entity = EntityKey(join_keys=["geo", "platform"], entity_values=values)
        keys.append(serialize_entity_key(entity, version) + store.project.encode())
    return keys


def _raw_reader(settings: Settings, store: Any, rows: list[dict[str, str]]) -> Callable[[], object]:
    """HMGET of the keys and fields Feast reads: one command for one row, one pipeline for many
    (what Feast sends). The fields are the hash's own (the view's features, hashed, and its
    timestamp: every one the feature service asks for); a key Feast did not write fails here
    instead of timing empty reads."""
    keys = _redis_keys(store, rows)
    password = settings.redis_password.get_secret_value()
    client = redis.Redis(settings.redis_host, settings.redis_port, password=password)
    fields: list[Any] = sorted(cast(list[bytes], client.hkeys(keys[0])))
    if len(fields) != len(FEATURE_NAMES) + 1:
        raise RuntimeError(
            f"raw Redis read: {len(fields)} fields under Feast's key, expected "
            f"{len(FEATURE_NAMES)} features and a timestamp: key layout mismatch"
        )
    stored: list[list[Any]] = [cast(list[Any], client.hmget(k, fields)) for k in keys]
    if any(v is None for values in stored for v in values):
        raise RuntimeError("raw Redis read missed a key Feast wrote: key layout mismatch")
    if len(keys) == 1:
        return lambda: client.hmget(keys[0], fields)

    def pipelined() -> object:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, fields)
            return pipe.execute()

    return pipelined


def _run(settings: Settings, store: Any, rows: int, samples: int) -> dict[str, float]:
    topic = f"bench.online.{uuid.uuid4().hex[:8]}"
    _produce(settings, topic, rows)
    try:
        ingestor = FeatureIngestor(settings, store, topic, f"bench-{uuid.uuid4().hex[:8]}")
        ours = ingestor.run(max_seconds=300, idle_exit_s=2).rows_per_s
        result = {"ours_eps": ours, "limit_eps": _raw_consume(settings, topic, rows)}
    finally:
        admin_client(settings).delete_topics([topic])
    for n, count in ((1, samples), (100, max(samples // 10, 100))):
        entity_rows = ENTITIES[:n]
        p50, p99 = _percentiles(partial(online_features, store, entity_rows), count)
        lim50, lim99 = _percentiles(_raw_reader(settings, store, entity_rows), count)
        result |= {f"p50_ms_{n}": p50, f"p99_ms_{n}": p99}
        result |= {f"limit_p50_ms_{n}": lim50, f"limit_p99_ms_{n}": lim99}
    return result


def bench_online(settings: Settings, runs: int, rows: int, samples: int) -> BenchResult:
    with scratch_store(settings, "adnomaly-bench") as store:
        results = [_run(settings, store, rows, samples) for _ in range(runs)]
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    latency = {"p50_ms": med["p50_ms_1"], "p99_ms": med["p99_ms_1"], "target_p99_ms": 5.0}
    latency |= {"limit_p50_ms": med["limit_p50_ms_1"], "limit_p99_ms": med["limit_p99_ms_1"]}
    latency |= {k: v for k, v in med.items() if k.endswith(("_1", "_100"))}
    return median_result(
        "online",
        results,
        target_eps=5_000,
        rows_per_run=rows,
        samples=samples,
        ingest_rows_s=med["ours_eps"],
        **latency,
    )
