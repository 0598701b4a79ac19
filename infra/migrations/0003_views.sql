-- The seed's views: the last 24 hours, and per (day, geo, platform) statistics.
CREATE VIEW recent_events AS
SELECT * FROM clickstream_events
WHERE "timestamp" > now() - interval '24 hours';

CREATE VIEW daily_stats AS
SELECT
    ("timestamp" AT TIME ZONE 'UTC')::date AS day,
    geo,
    platform,
    count(*)                     AS events,
    count(DISTINCT user_id_hash) AS unique_users,
    avg(ctr)                     AS ctr_avg,
    avg(cpc)                     AS cpc_avg,
    avg(bounce_rate)             AS bounce_rate_avg,
    sum(conversion)              AS conversions
FROM clickstream_events
GROUP BY 1, 2, 3;
