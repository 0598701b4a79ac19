-- 5-minute sliding features per (geo, platform), written by the Flink job (upsert on the key).
CREATE TABLE feature_aggregates (
    geo                 char(2)          NOT NULL,
    platform            text             NOT NULL,
    window_start        timestamptz      NOT NULL,
    window_end          timestamptz      NOT NULL,
    ctr_avg             double precision NOT NULL,
    bounce_rate_avg     double precision NOT NULL,
    event_count         bigint           NOT NULL,
    cpc_avg             double precision,
    conversion_rate     double precision,
    unique_users        bigint,
    events_per_user     double precision,
    suspicious_ua_share double precision,
    computed_at         timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (geo, platform, window_end)
);
CREATE INDEX feature_aggregates_window_end_idx ON feature_aggregates (window_end);

-- Detector output: one row per scored (segment, window, model version).
CREATE TABLE anomaly_results (
    id            bigserial        PRIMARY KEY,
    geo           char(2)          NOT NULL,
    platform      text             NOT NULL,
    window_start  timestamptz      NOT NULL,
    window_end    timestamptz      NOT NULL,
    score         double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
    is_anomaly    boolean          NOT NULL,
    drivers       jsonb            NOT NULL DEFAULT '{}'::jsonb,
    reason        text             NOT NULL DEFAULT '',
    model_version text             NOT NULL,
    incident_key  text,
    detected_at   timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (geo, platform, window_end, model_version)
);
CREATE INDEX anomaly_results_alerts_idx ON anomaly_results (window_end) WHERE is_anomaly;

-- Fraud ground truth from the generator; never part of the events themselves.
CREATE TABLE fraud_labels (
    incident_id text        PRIMARY KEY,
    scenario    text        NOT NULL,
    geo         char(2)     NOT NULL,
    platform    text        NOT NULL,
    campaign_id text,
    start_ts    timestamptz NOT NULL,
    end_ts      timestamptz NOT NULL CHECK (end_ts > start_ts),
    intensity   double precision NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fraud_labels_time_idx ON fraud_labels (start_ts, end_ts);
