"""Incidents and analysts' verdicts: the read side of the detector's output for people.

`grouping` turns anomalous windows into incidents (pure), `verdicts` holds the verdict rules and
their table, `queries` is the one module that reads anomaly_results and its neighbours, and
`health` is the pipeline-health glance of the incidents app.
"""
