"""Ad-fraud anomaly detection: a model of normal traffic per (geo, platform), scoring,
alert grouping, model storage, the online service and the offline evaluation.

What the Dagster assets need is importable from here; the service (`service.py`) and the
evaluation (`evaluate.py`, which pulls in matplotlib) are imported from their modules.
"""

from streaming.detection.alerts import AlertGrouper, group_alerts
from streaming.detection.model import DetectorConfig, DetectorModel
from streaming.detection.scoring import score
from streaming.detection.store import (
    ModelWatcher,
    list_versions,
    load_latest_model,
    load_model,
    save_model,
)
from streaming.detection.train import train

__all__ = [
    "AlertGrouper",
    "DetectorConfig",
    "DetectorModel",
    "ModelWatcher",
    "group_alerts",
    "list_versions",
    "load_latest_model",
    "load_model",
    "save_model",
    "score",
    "train",
]
