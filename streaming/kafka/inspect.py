"""Looking at topics and consumer groups from outside: sizes, group lag, reading a time range.

Used by the demo, chaos, the soak and the latency bench. `TopicProbe` keeps its clients, so
polling lag every half second does not open a client per group per poll.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from streaming.kafka.config import consumer_config
from streaming.kafka.principals import MONITOR_GROUP_PREFIXES
from streaming.kafka.topics import admin_client
from streaming.settings import Settings

TIMEOUT_S = 10.0


class TopicProbe:
    """Watermarks over one AdminClient; committed offsets over one consumer per group.

    Committed offsets are not asked of the AdminClient: librdkafka's ListConsumerGroupOffsets
    dereferences a null group handle when the broker answers NOT_COORDINATOR (a freshly
    started or restarted broker does), and the process dies with SIGSEGV
    (confluentinc/librdkafka#5040). A consumer that never subscribes has that handle and
    does not join the group.
    """

    def __init__(self, settings: Settings, principal: str = "monitor") -> None:
        self.settings = settings
        self.principal = principal  # read-only by default; a scratch topic needs admin
        self.admin = admin_client(settings, principal)
        self._readers: dict[str, Consumer] = {}

    def close(self) -> None:
        for consumer in self._readers.values():
            consumer.close()
        self._readers.clear()

    def __enter__(self) -> TopicProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partitions(self, topic: str) -> list[TopicPartition]:
        meta = self.admin.list_topics(topic, timeout=TIMEOUT_S).topics[topic]
        if meta.error is not None:
            raise RuntimeError(f"topic {topic}: {meta.error}")
        return [TopicPartition(topic, p) for p in sorted(meta.partitions)]

    def _offsets(self, parts: list[TopicPartition], spec: OffsetSpec) -> dict[int, int]:
        if not parts:
            return {}
        futures = self.admin.list_offsets({tp: spec for tp in parts}, request_timeout=TIMEOUT_S)
        return {tp.partition: f.result().offset for tp, f in futures.items()}

    def watermarks(self, topic: str) -> dict[int, tuple[int, int]]:
        """Partition -> (low, high) watermark."""
        parts = self.partitions(topic)
        low = self._offsets(parts, OffsetSpec.earliest())
        high = self._offsets(parts, OffsetSpec.latest())
        return {p: (low[p], high[p]) for p in high}

    def size(self, topic: str) -> int:
        """Records in a topic: sum over partitions of (high - low watermark)."""
        return sum(high - low for low, high in self.watermarks(topic).values())

    def lag(self, group: str, topic: str, marks: dict[int, tuple[int, int]] | None = None) -> int:
        """Records of `topic` the group has not committed yet (a partition never committed
        counts from its low watermark). `marks`: the topic's watermarks, if already known."""
        marks = self.watermarks(topic) if marks is None else marks
        consumer = self._readers.get(group)
        if consumer is None:  # never subscribes, so it does not join the group
            consumer = Consumer(
                consumer_config(
                    self.settings, "adnomaly-lag-probe", group, principal=self.principal
                )
            )
            self._readers[group] = consumer
        committed = _committed(consumer, [TopicPartition(topic, p) for p in marks])
        lag = 0
        for tp in committed:
            low, high = marks[tp.partition]
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag

    def lags(self, groups: Mapping[str, str]) -> dict[str, int]:
        """Group -> lag, for a mapping of group -> the topic it reads (each topic's watermarks
        are asked once, however many groups read it)."""
        marks = {topic: self.watermarks(topic) for topic in set(groups.values())}
        return {group: self.lag(group, topic, marks[topic]) for group, topic in groups.items()}


_COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


def _committed(consumer: Consumer, parts: list[TopicPartition]) -> list[TopicPartition]:
    """Committed offsets; a group coordinator that is still loading or moving (a broker just
    started) is asked again until TIMEOUT_S."""
    end = time.monotonic() + TIMEOUT_S
    while True:
        try:
            return consumer.committed(parts, timeout=TIMEOUT_S)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() not in _COORDINATOR_MOVING or time.monotonic() > end:
                raise
        time.sleep(0.2)  # retry cadence while the coordinator loads


def topic_size(settings: Settings, topic: str) -> int:
    with TopicProbe(settings) as probe:
        return probe.size(topic)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    value: bytes
    headers: dict[str, bytes]


def _bytes(value: str | bytes | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


def read_since(
    settings: Settings,
    topic: str,
    since: datetime,
    deadline_s: float = 30.0,
    principal: str = "monitor",
) -> list[Record]:
    """Every record of `topic` appended at or after `since` (broker time), up to the end the
    topic had when the call began. Raises if that end is not reached within `deadline_s`."""
    consumer = Consumer(
        consumer_config(
            settings,
            "adnomaly-reader",
            f"{MONITOR_GROUP_PREFIXES[1]}{uuid.uuid4().hex}",
            principal=principal,
        )
    )
    try:
        parts = consumer.list_topics(topic, timeout=TIMEOUT_S).topics[topic].partitions
        stamp = int(since.timestamp() * 1000)
        starts = consumer.offsets_for_times(
            [TopicPartition(topic, p, stamp) for p in parts], timeout=TIMEOUT_S
        )
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1]
            for p in parts
        }
        todo = [tp for tp in starts if 0 <= tp.offset < ends[tp.partition]]
        if not todo:
            return []
        consumer.assign(todo)
        remaining = {tp.partition: ends[tp.partition] for tp in todo}
        out: list[Record] = []
        end_at = time.monotonic() + deadline_s
        while remaining:
            if time.monotonic() > end_at:
                raise TimeoutError(
                    f"reading {topic}: partitions {sorted(remaining)} not read to their end "
                    f"in {deadline_s:.0f}s"
                )
            for msg in consumer.consume(10_000, 0.5):
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"reading {topic}: {err}")
                    continue
                part, offset = msg.partition() or 0, msg.offset() or 0
                if part not in remaining or offset >= remaining[part]:
                    continue
                headers = {_bytes(k).decode(): _bytes(v) for k, v in list(msg.headers() or [])}
                out.append(Record(part, offset, msg.value() or b"", headers))
                if offset + 1 >= remaining[part]:
                    del remaining[part]
        return out
    finally:
        consumer.close()
