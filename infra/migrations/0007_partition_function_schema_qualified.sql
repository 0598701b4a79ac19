-- ensure_clickstream_partition looked the partition up by bare name, so with another schema
-- earlier on the search_path (benchmarks, tests) it could find that schema's partition and skip
-- creating its own. Look up and create the partition in the schema of the parent table.
CREATE OR REPLACE FUNCTION ensure_clickstream_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    parent_schema text := (SELECT n.nspname FROM pg_class c
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE c.oid = 'clickstream_events'::regclass);
    part text := format('clickstream_events_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(format('%I.%I', parent_schema, part)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.clickstream_events '
            'FOR VALUES FROM (%L) TO (%L)',
            parent_schema, part, parent_schema, day::timestamptz, (day + 1)::timestamptz);
    END IF;
    RETURN part;
END $$;
