"""Render infra/native/alert-rules.yml (mounted at /etc/adnomaly/native) for the compose
Prometheus, with the values the native stack takes from Settings: the same names and defaults
(streaming/settings.py), read from the container's environment."""

import os
import sys
from pathlib import Path
from string import Template

DEFAULTS = {
    "flink_job": ("FLINK_JOB_NAME", "adnomaly-features"),
    "flink_group": ("FLINK_GROUP", "adnomaly-flink-features"),
    "topic": ("TOPIC", "clickstream"),
    "max_dlq_growth": ("ADNOMALY_MAX_DLQ_GROWTH", "100"),
    "max_age_s": ("ADNOMALY_MAX_SECONDS_SINCE_EVENT", "600"),
}

source, target = Path(sys.argv[1]), Path(sys.argv[2])
values = {key: os.environ.get(var, default) for key, (var, default) in DEFAULTS.items()}
values["max_age_s"] = str(int(float(values["max_age_s"])))
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(Template(source.read_text()).substitute(values))
