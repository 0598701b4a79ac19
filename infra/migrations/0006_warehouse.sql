-- Warehouse tables Dagster materializes per day partition (delete-then-insert, so reruns and
-- backfills replace a day instead of adding to it).
CREATE TABLE warehouse_daily_stats (
    day             date             NOT NULL,
    geo             char(2)          NOT NULL,
    platform        text             NOT NULL,
    events          bigint           NOT NULL,
    unique_users    bigint           NOT NULL,
    ctr_avg         double precision NOT NULL,
    cpc_avg         double precision NOT NULL,
    bounce_rate_avg double precision NOT NULL,
    conversions     bigint           NOT NULL,
    spend           double precision NOT NULL,
    PRIMARY KEY (day, geo, platform)
);

CREATE TABLE warehouse_hourly_traffic (
    hour            timestamptz      NOT NULL,
    geo             char(2)          NOT NULL,
    platform        text             NOT NULL,
    events          bigint           NOT NULL,
    unique_users    bigint           NOT NULL,
    ctr_avg         double precision NOT NULL,
    conversion_rate double precision NOT NULL,
    PRIMARY KEY (hour, geo, platform)
);
