-- Issue 13, streaming with the scoring core: each scored window names the feature and the view
-- (seasonal, sustained or joint) of its strongest evidence, so an alert can say what drove it
-- without parsing the drivers JSON. NULL on rows scored before this column existed.
ALTER TABLE anomaly_results ADD COLUMN driver_feature text, ADD COLUMN driver_view text;
