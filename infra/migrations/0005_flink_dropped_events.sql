-- Records the Flink features job kept out of every window: `late` (at or behind the watermark on
-- arrival) or `invalid` (a field missing or outside the click-event contract). Keyed by the
-- source offset so a replay after recovery rewrites a row instead of counting it twice. Columns
-- copied from the record stay unconstrained text: a row that breaks a constraint here would fail
-- the job instead of being counted.
CREATE TABLE flink_dropped_events (
    source_topic    text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('late', 'invalid')),
    event_id        text,
    geo             text,
    platform        text,
    event_time      timestamptz,
    watermark_at    timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_topic, kafka_partition, kafka_offset)
);
CREATE INDEX flink_dropped_events_recorded_idx ON flink_dropped_events (recorded_at);
