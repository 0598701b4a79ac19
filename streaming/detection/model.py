"""The trained model of normal traffic: plain arrays plus the settings they were fitted with,
serialized as versioned JSON so any process (Dagster, the detector service, a notebook) can
read it and an analyst can open it.

The version is `<UTC training time>-<content hash>`: it sorts chronologically (the service
picks the newest by name) and two identical fits share a hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import orjson
from numpy.typing import NDArray

from streaming.detection.channels import NAMES

FORMAT: Final = "adnomaly-detector"
FORMAT_VERSION: Final = 1
Array = NDArray[np.float64]


@dataclass(frozen=True)
class DetectorConfig:
    """One set of defaults for every segment; the evaluation report states which were used."""

    slot_minutes: int = 15  # resolution of the weekly shape
    threshold: float = 5.0  # alert when the strongest evidence reaches this many sigma
    calibration_quantile: float = 0.999  # history's tail, matched to a normal's
    min_segment_rows: int = 60  # fewer windows: the segment uses the all-segment fallback
    group_gap_minutes: int = 5  # anomalous windows this close form one alert

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    @property
    def group_gap(self) -> timedelta:
        return timedelta(minutes=self.group_gap_minutes)


@dataclass(frozen=True)
class DetectorModel:
    """Per segment (rows of level/center/scale) and per week slot (rows of shape); columns are
    channels.NAMES. `calibration` has one factor per channel plus the multivariate one."""

    version: str
    config: DetectorConfig
    segments: tuple[str, ...]
    level: Array
    shape: Array
    center: Array
    scale: Array
    calibration: Array
    mv_mean: Array
    mv_precision: Array
    trained_rows: int
    trained_from: str
    trained_to: str
    channels: tuple[str, ...] = NAMES
    # one factor per channel for the sustained view (sustained.py); None in a model trained
    # before that view existed, which then scores without it
    sustained_calibration: Array | None = None
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {s: i for i, s in enumerate(self.segments)})

    def to_bytes(self) -> bytes:
        data = {k: v for k, v in asdict(self).items() if k != "index"}
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, **data}
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)

    @classmethod
    def from_bytes(cls, raw: bytes) -> DetectorModel:
        """Refuses a file of another format or channel set instead of scoring with it."""
        data: dict[str, Any] = orjson.loads(raw)
        if data.pop("format", None) != FORMAT or data.pop("format_version", None) != FORMAT_VERSION:
            raise ValueError(f"not an {FORMAT} v{FORMAT_VERSION} model")
        if tuple(data["channels"]) != NAMES:
            raise ValueError(f"model channels {data['channels']} differ from this code's {NAMES}")
        arrays = ("level", "shape", "center", "scale", "calibration", "mv_mean", "mv_precision")
        for name in arrays:
            data[name] = np.asarray(data[name], dtype=np.float64)
        if data.get("sustained_calibration") is not None:
            data["sustained_calibration"] = np.asarray(
                data["sustained_calibration"], dtype=np.float64
            )
        data["config"] = DetectorConfig(**data["config"])
        data["segments"] = tuple(data["segments"])
        data["channels"] = tuple(data["channels"])
        return cls(**data)


def new_version(parts: list[bytes], trained_at: datetime | None = None) -> str:
    when = (trained_at or datetime.now(UTC)).astimezone(UTC)
    digest = hashlib.sha256(b"".join(parts)).hexdigest()[:8]
    return f"{when:%Y%m%dT%H%M%SZ}-{digest}"
