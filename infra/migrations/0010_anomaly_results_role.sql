-- Champion/challenger: each anomaly_results row records the role its model version had when it
-- scored the window. Alerts, incidents and the incidents app read only champion rows; the
-- challenger's rows are kept for the model_comparison asset.
ALTER TABLE anomaly_results ADD COLUMN role text NOT NULL DEFAULT 'champion'
    CHECK (role IN ('champion', 'challenger'));
CREATE INDEX anomaly_results_version_idx ON anomaly_results (model_version, window_end);
