"""The online detector: `features` topic → score → anomaly_results + `anomalies` topic.

Per polled batch: parse (bad records to the DLQ), score with the current model, group into
incidents, upsert the rows, publish open/resolved alerts, and only then commit the offsets.
A crash anywhere before the commit re-reads the batch, and the upsert plus data-derived
incident keys make that harmless. Without a model nothing is consumed: unscored offsets must
not be committed. A newer model, a promotion or a rollback in MinIO is picked up between
batches (MinIO is asked at most every `ModelWatcher.every_s`, `--reload-seconds`), no restart
needed. With a challenger, every window is scored by both: the champion's rows are grouped and
alerted, the challenger's are only written (role 'challenger', no incident key) for comparison.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pandas as pd
from confluent_kafka import Consumer, Message

from streaming.detection.alerts import AlertGrouper
from streaming.detection.results import (
    AlertPublisher,
    RetryingDb,
    open_incidents,
    parse_batch,
    write_results,
)
from streaming.detection.roles import CHALLENGER, CHAMPION
from streaming.detection.scoring import score
from streaming.detection.store import ModelWatcher
from streaming.detection.sustained import WindowMemory
from streaming.kafka.config import consumer_config
from streaming.kafka.consume import commit_batch, consume_records
from streaming.metrics import StreamMetrics, serve
from streaming.settings import Settings
from streaming.sinks.dlq import DeadLetters

log = logging.getLogger("adnomaly.detector")


class DetectorService:
    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        anomalies_topic: str | None = None,
        group_id: str | None = None,
        instance_id: str | None = None,
        watcher: ModelWatcher | None = None,
        batch_size: int = 1000,
        poll_timeout_s: float = 0.5,
    ) -> None:
        self.settings = settings
        self.topic = topic or settings.features_topic
        group = group_id or settings.detector_group
        config = consumer_config(settings, "adnomaly-detector", group, instance_id, "detector")
        self.consumer = Consumer(config)
        self.dlq = DeadLetters(settings, "detector", self.topic)
        self.alerts = AlertPublisher(settings, anomalies_topic)
        self.watcher = watcher or ModelWatcher(settings)
        self.grouper: AlertGrouper | None = None
        # the windows already scored, for the sustained view of the next batches' windows
        self.memory, self.challenger_memory = WindowMemory(), WindowMemory()
        self.db = RetryingDb(settings)
        self.batch_size, self.poll_timeout_s = batch_size, poll_timeout_s
        self.stats: Counter[str] = Counter()
        self.stop = threading.Event()
        self.metrics = StreamMetrics("detector", instance_id, self.topic, group)

    def run(
        self, max_seconds: float | None = None, idle_exit_s: float | None = None
    ) -> Counter[str]:
        """Until SIGTERM/SIGINT, `max_seconds`, or `idle_exit_s` without records."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
            signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        serve(self.settings, "detector")  # before the model wait: a waiting detector is up
        end = time.monotonic() + max_seconds if max_seconds else float("inf")
        while self.watcher.model is None and not self.stop.is_set() and time.monotonic() < end:
            if not self.watcher.refresh(force=True):
                log.info("no detector model in MinIO yet; waiting")
                self.stop.wait(min(self.watcher.every_s, max(end - time.monotonic(), 0)))
        assigned: list[float] = []  # idle time counts from the first partition assignment
        self.consumer.subscribe(
            [self.topic], on_assign=lambda _c, parts: assigned.append(time.monotonic())
        )
        last_data = 0.0
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                self.watcher.refresh()
                good = consume_records(self.consumer, self.batch_size, self.poll_timeout_s, log)
                if good:
                    started, before = time.monotonic(), Counter(self.stats)
                    self._handle(good)
                    done = self.stats - before
                    seconds = time.monotonic() - started
                    self.metrics.handled(
                        self.consumer, len(good), done["scored"], done["rejected"], seconds
                    )
                    last_data = time.monotonic()
                elif idle_exit_s is not None and self._idle(assigned, last_data) > idle_exit_s:
                    break
        finally:
            self.consumer.close()
        log.info("detector stats: %s", dict(self.stats))
        return self.stats

    @staticmethod
    def _idle(assigned: list[float], last_data: float) -> float:
        """Seconds without records since partitions were assigned (joining a group is not
        an empty topic)."""
        return time.monotonic() - max(last_data, assigned[0]) if assigned else 0.0

    def _handle(self, messages: list[Message]) -> None:
        model = self.watcher.model
        assert model is not None  # run() does not consume before a model is loaded
        rows, rejected = parse_batch(messages)
        records: list[dict[str, Any]] = []
        announcements = []
        if rows:
            grouper = self._grouper(model.config.group_gap)
            if grouper is None:
                return  # stopping before PostgreSQL answered: the batch is re-read
            frame = pd.DataFrame([r.model_dump() for r in rows])
            scored = score(model, frame, memory=self.memory)
            scored = scored.sort_values("window_end", kind="stable")
            records = cast(list[dict[str, Any]], scored.to_dict("records"))
            for rec in records:
                rec["role"] = CHAMPION
                rec["incident_key"], events = grouper.observe(rec)
                announcements += events
            challenger = self.watcher.challenger
            if challenger is not None:
                extra = cast(
                    list[dict[str, Any]],
                    score(challenger, frame, memory=self.challenger_memory).to_dict("records"),
                )
                records += [{**rec, "role": CHALLENGER, "incident_key": None} for rec in extra]
        if records and self.db.call(lambda conn: write_results(conn, records), self.stop) is None:
            return  # stopping with the batch unwritten: it is re-read, never skipped
        for status, incident in announcements:
            self.alerts.publish(incident.message(status, model.version))
        self.alerts.flush()
        self.dlq.add(rejected)
        self.dlq.flush()
        commit_batch(self.consumer, self.topic, messages, log)
        champion_rows = [r for r in records if r["role"] == CHAMPION]
        self.stats.update(
            scored=len(champion_rows), rejected=len(rejected), alerts=len(announcements)
        )
        self.stats["anomalous"] += sum(bool(r["is_anomaly"]) for r in champion_rows)
        self.stats["challenger_scored"] += len(records) - len(champion_rows)

    def _grouper(self, gap: timedelta) -> AlertGrouper | None:
        """Created on first use, resuming the incidents a previous run left open."""
        if self.grouper is None:
            restored = self.db.call(lambda conn: open_incidents(conn, gap), self.stop)
            if restored is None:
                return None
            self.grouper = AlertGrouper(gap)
            for incident in restored:
                self.grouper.restore(incident)
        self.grouper.gap = gap
        return self.grouper
