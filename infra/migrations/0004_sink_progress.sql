-- What each sink has stored and rejected, per source partition; the DB sink updates its rows in
-- the same transaction as the events, so the counts are exact.
CREATE TABLE sink_progress (
    sink            text        NOT NULL,
    kafka_partition integer     NOT NULL,
    last_offset     bigint      NOT NULL,
    stored          bigint      NOT NULL DEFAULT 0,
    duplicates      bigint      NOT NULL DEFAULT 0,
    rejected        bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, kafka_partition)
);
