"""Prometheus metrics of the project's stream services (prometheus-client).

Every consuming service (the sinks, the Feast ingestor, the detector) reports the same families
through `StreamMetrics`, so one alert rule covers them all; the generator has its own
(`GeneratorMetrics`). Labels: `service` (db-sink, lake-sink, feast-ingestor, detector,
generator) and `instance` (the static group member id). Each service process serves them on
METRICS_HOST (127.0.0.1) at its port from Settings.metrics_ports (`serve`), which Prometheus
scrapes.

Counting is done once per batch, never per record: the hot loops stay as fast as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from streaming.settings import Settings

log = logging.getLogger("adnomaly.metrics")
LABELS = ("service", "instance")
_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

CONSUMED = Counter(
    "adnomaly_stream_records_consumed", "Records read from Kafka (valid or not).", LABELS
)
WRITTEN = Counter(
    "adnomaly_stream_records_written",
    "Records made durable in the service's store (duplicates of a redelivery excluded).",
    LABELS,
)
DEAD_LETTERED = Counter(
    "adnomaly_stream_records_dead_lettered", "Records rejected and sent to the DLQ.", LABELS
)
WRITE_RETRIES = Counter(
    "adnomaly_stream_write_retries", "Writes retried because the store was unreachable.", LABELS
)
BATCH_SIZE = Histogram(
    "adnomaly_stream_batch_size_records",
    "Records per written batch.",
    LABELS,
    buckets=_BATCH_BUCKETS,
)
WRITE_SECONDS = Histogram(
    "adnomaly_stream_write_duration_seconds",
    "Time to make one batch durable (retries included).",
    LABELS,
    buckets=_LATENCY_BUCKETS,
)
COMMIT_LAG = Gauge(
    "adnomaly_stream_commit_lag_records",
    "Records on the partitions this instance owns past its last committed offset.",
    (*LABELS, "topic", "group"),
)
LAST_WRITE = Gauge(
    "adnomaly_stream_last_write_timestamp_seconds",
    "Wall-clock time (epoch s) of the last batch made durable.",
    LABELS,
)
NEWEST_WRITE_AGE = Gauge(
    "adnomaly_stream_newest_write_age_seconds",
    "Seconds since the last batch was made durable (since start before the first one).",
    LABELS,
)
NEWEST_EVENT = Gauge(
    "adnomaly_stream_newest_event_timestamp_seconds",
    "Event time (epoch s) of the newest record written: an event's timestamp, a feature "
    "window's end.",
    LABELS,
)

PRODUCED = Counter(
    "adnomaly_generator_events_produced", "Records handed to the Kafka producer.", LABELS
)
ACKED = Counter("adnomaly_generator_events_acked", "Records acknowledged by the broker.", LABELS)
FAILED = Counter("adnomaly_generator_events_failed", "Records the broker did not accept.", LABELS)
PRODUCE_BATCH = Histogram(
    "adnomaly_generator_batch_size_events",
    "Events per produced batch.",
    LABELS,
    buckets=_BATCH_BUCKETS,
)
LAST_ACK = Gauge(
    "adnomaly_generator_last_ack_timestamp_seconds",
    "Wall-clock time (epoch s) of the newest acknowledgement seen.",
    LABELS,
)

_serving: dict[str, int] = {}


def serve(settings: Settings, service: str) -> int | None:
    """Serve this process's metrics on 127.0.0.1:<Settings.metrics_ports[service]>, once per
    process. Returns the port, or None when exporting is off (ADNOMALY_EXPORT_METRICS=0) or the
    port is taken (a second copy of a supervised service run by hand): metrics are worth a
    warning, never a refusal to process data."""
    if service in _serving:
        return _serving[service]
    if not settings.export_metrics:
        return None
    try:
        port = settings.metrics_ports[service]
    except KeyError:
        raise ValueError(
            f"no metrics port for service {service!r}; known: {sorted(settings.metrics_ports)}"
        ) from None
    host = settings.metrics_host
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics not exported: %s:%d: %s", host, port, exc)
        return None
    _serving[service] = port
    log.info("metrics on http://%s:%d/metrics", host, port)
    return port


class StreamMetrics:
    """One consuming service instance's metrics: call `batch_written` once per durable batch,
    `dead_lettered` for its rejects, and `lag` after a commit."""

    def __init__(self, service: str, instance: str | None, topic: str, group: str) -> None:
        labels = (service, instance or service)
        self.consumed = CONSUMED.labels(*labels)
        self.written = WRITTEN.labels(*labels)
        self.rejected = DEAD_LETTERED.labels(*labels)
        self.retries = WRITE_RETRIES.labels(*labels)
        self.batch_size = BATCH_SIZE.labels(*labels)
        self.write_seconds = WRITE_SECONDS.labels(*labels)
        self.commit_lag = COMMIT_LAG.labels(*labels, topic, group)
        self.last_write = LAST_WRITE.labels(*labels)
        self.newest_event = NEWEST_EVENT.labels(*labels)
        self._last_write_at = time.time()
        self._newest_event_s = 0.0
        NEWEST_WRITE_AGE.labels(*labels).set_function(lambda: time.time() - self._last_write_at)
        self.committed: dict[int, int] = {}  # partition -> next offset to read, as committed

    def batch_written(
        self, written: int, batch: int, seconds: float, newest_event_s: float | None = None
    ) -> None:
        """`batch` records made durable in `seconds`, `written` of them new (not duplicates of
        a redelivery); `newest_event_s` is the newest one's event time (epoch s)."""
        self._last_write_at = time.time()
        self.written.inc(written)
        self.batch_size.observe(batch)
        self.write_seconds.observe(seconds)
        self.last_write.set(self._last_write_at)
        if newest_event_s is not None and newest_event_s > self._newest_event_s:
            self._newest_event_s = newest_event_s
            self.newest_event.set(newest_event_s)

    def handled(
        self, consumer: Consumer, consumed: int, written: int, rejected: int, seconds: float
    ) -> None:
        """A polled batch of `consumed` records was handled in `seconds`; nothing written nor
        rejected means it was left unhandled (stopping) and will be re-read."""
        self.consumed.inc(consumed)
        if written or rejected:
            self.rejected.inc(rejected)
            self.batch_written(written, consumed, seconds)
            self.lag(consumer)

    def lag(self, consumer: Consumer, committed: Iterable[TopicPartition] = ()) -> None:
        """Commit lag over the partitions this instance owns: each one's high watermark (as
        cached from the last fetch, no broker round trip) minus the offset committed for it.
        A partition this process has not committed yet is asked for its group's committed
        offset once; one the group never committed counts from its low watermark (the same
        lag as streaming/kafka/inspect.py's TopicProbe)."""
        for tp in committed:
            self.committed[tp.partition] = tp.offset
        total = 0
        try:
            owned = consumer.assignment()
            mine = {tp.partition for tp in owned}  # forget partitions a rebalance took away
            self.committed = {p: o for p, o in self.committed.items() if p in mine}
            unknown = [tp for tp in owned if tp.partition not in self.committed]
            if unknown:
                for tp in consumer.committed(unknown, timeout=2.0):
                    self.committed[tp.partition] = tp.offset
            for tp in owned:
                low, high = consumer.get_watermark_offsets(tp, cached=True)
                done = self.committed.get(tp.partition, -1)
                if high >= 0:
                    total += max(high - (done if done >= 0 else max(low, 0)), 0)
        except Exception as exc:  # noqa: BLE001 (a metric never stops the service)
            log.debug("commit lag not measured: %s", exc)
            return
        self.commit_lag.set(total)


class GeneratorMetrics:
    """The generator's counts, mirrored from its producer's DeliveryStats once per batch."""

    def __init__(self, instance: str | None = None) -> None:
        labels = ("generator", instance or "generator")
        self.produced = PRODUCED.labels(*labels)
        self.acked = ACKED.labels(*labels)
        self.failed = FAILED.labels(*labels)
        self.batch = PRODUCE_BATCH.labels(*labels)
        self.last_ack = LAST_ACK.labels(*labels)
        self._seen = (0, 0, 0)

    def sync(self, batch: int, produced: int, acked: int, failed: int) -> None:
        """A batch of `batch` events was produced; the other figures are the producer's running
        totals, of which what changed since the last call is added."""
        if batch:
            self.batch.observe(batch)
        before = self._seen
        self._seen = (produced, acked, failed)
        self.produced.inc(max(produced - before[0], 0))
        self.failed.inc(max(failed - before[2], 0))
        if acked > before[1]:
            self.acked.inc(acked - before[1])
            self.last_ack.set(time.time())
