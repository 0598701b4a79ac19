-- Raw click events, range-partitioned by day so retention drops whole partitions.
-- A partitioned table's unique key must contain the partition key: the primary key is
-- (event_id, timestamp). An event's timestamp is fixed at generation, so a redelivered event
-- collides on it and is stored once; event_id is the idempotency key of every sink.
CREATE TABLE clickstream_events (
    event_id        text             NOT NULL,
    "timestamp"     timestamptz      NOT NULL,
    user_id_hash    char(16)         NOT NULL,
    ad_id           text             NOT NULL,
    campaign_id     text             NOT NULL,
    geo             char(2)          NOT NULL,
    platform        text             NOT NULL CHECK (platform IN ('web', 'ios', 'android')),
    user_agent      text             NOT NULL,
    cpc             double precision NOT NULL CHECK (cpc BETWEEN 0.10 AND 1.20),
    ctr             double precision NOT NULL CHECK (ctr BETWEEN 0.005 AND 0.05),
    conversion      smallint         NOT NULL CHECK (conversion IN (0, 1)),
    bounce_rate     double precision NOT NULL CHECK (bounce_rate BETWEEN 0.20 AND 0.90),
    kafka_partition integer,
    kafka_offset    bigint,
    ingested_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, "timestamp")
) PARTITION BY RANGE ("timestamp");

-- for the seed's sample queries: recent events, high CTR, per-segment scans
CREATE INDEX clickstream_events_ts_idx ON clickstream_events ("timestamp" DESC);
CREATE INDEX clickstream_events_ctr_idx ON clickstream_events (ctr);
CREATE INDEX clickstream_events_segment_idx ON clickstream_events (geo, platform, "timestamp");

-- Creates the day's partition if missing; sinks call it for each day in a batch.
CREATE FUNCTION ensure_clickstream_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('clickstream_events_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(part) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF clickstream_events '
            'FOR VALUES FROM (%L) TO (%L)',
            part, day::timestamptz, (day + 1)::timestamptz);
    END IF;
    RETURN part;
END $$;

-- Retention: detach and drop every daily partition wholly before `cutoff`.
CREATE FUNCTION drop_clickstream_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'clickstream_events'::regclass
          AND c.relname ~ '^clickstream_events_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;
