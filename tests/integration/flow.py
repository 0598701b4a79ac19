"""Events produced on a thread while a test changes the stack under them; every id is kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from streaming.generator import TrafficGenerator
from streaming.producer import ClickProducer
from streaming.settings import Settings


class Flow:
    """Events produced in small batches on a thread until stopped; every event id is kept."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings, self.topic = settings, topic
        self.ids: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.produce_errors: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            gen = TrafficGenerator(11, self.settings.hash_salt.get_secret_value(), fraud=False)
            producer = ClickProducer(self.settings, self.topic)
            start = datetime(2026, 3, 1, 9, tzinfo=UTC)
            step = 0
            while not self.stop.is_set():
                begin = start + timedelta(seconds=step)
                batch = gen.batch(100, begin, begin + timedelta(seconds=1))
                producer.send_batch(batch)
                self.ids.extend(batch.event_ids())
                step += 1
                self.stop.wait(0.1)  # ~1,000 events/s: a pace, not a wait for state
            stats = producer.flush(60)  # raises unless every event was acked
            self.produce_errors = stats.failed
        except BaseException as exc:  # noqa: BLE001 (re-raised by the test thread)
            self.error = exc

    def __enter__(self) -> Flow:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(90)
