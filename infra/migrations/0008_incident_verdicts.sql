-- Analysts' verdicts on incidents (consecutive anomalous windows of one segment, grouped by
-- streaming/incidents/). Append-only: a new verdict supersedes the previous one, which stays as
-- history. The incident's segment and span are kept with each verdict, so model-quality checks
-- can match verdicts to windows and fraud labels without regrouping anomaly_results.
CREATE TABLE incident_verdicts (
    id             bigserial   PRIMARY KEY,
    incident_id    text        NOT NULL,
    geo            char(2)     NOT NULL,
    platform       text        NOT NULL,
    incident_start timestamptz NOT NULL,
    incident_end   timestamptz NOT NULL CHECK (incident_end > incident_start),
    verdict        text        NOT NULL CHECK (verdict IN ('fraud', 'false_alarm', 'unsure')),
    analyst        text        NOT NULL CHECK (analyst <> ''),
    decided_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    note           text        NOT NULL DEFAULT '' CHECK (length(note) <= 2000)
);
CREATE INDEX incident_verdicts_incident_idx ON incident_verdicts (incident_id, decided_at DESC, id DESC);

-- The verdict in force per incident: the latest one recorded.
CREATE VIEW incident_current_verdicts AS
SELECT DISTINCT ON (incident_id) *
FROM incident_verdicts
ORDER BY incident_id, decided_at DESC, id DESC;
