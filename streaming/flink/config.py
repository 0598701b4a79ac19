"""What one submission of the features job is configured by, validated before anything starts.

Every value ends up inside Flink SQL text, so names are checked against strict patterns here (no
quoting games later), and a bad duration or window shape fails at `adnomaly flink submit` with
the option's name instead of as a planner stack trace from the cluster.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from streaming.settings import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, None: 1000}


def parse_duration(value: object) -> object:
    """`500ms`, `5s`, `5m`, `1h` or a number of seconds; anything else is left to pydantic,
    which names the field in its error."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration (use e.g. 500ms, 5s, 5m, 1h)")
    return timedelta(milliseconds=float(match.group(1)) * _UNIT_MS[match.group(2)])


def millis(value: timedelta) -> int:
    return value // timedelta(milliseconds=1)


# Serialized the way it is parsed, so a config survives the JSON hop to the job unchanged.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda v: f"{millis(v)}ms", return_type=str),
]
SqlName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
TopicName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]
Startup = Literal["group-offsets", "earliest-offset", "latest-offset"]


class JobConfig(BaseModel):
    """One features job. `startup=group-offsets` resumes where the consumer group committed on
    its last checkpoint (a new group starts at the latest offset, not at a week of history).
    Its name, topics and group have no default here: `for_stack` takes them from the settings,
    a benchmark or test names its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")]
    source_topic: TopicName
    features_topic: TopicName
    group_id: TopicName
    features_table: SqlName = "feature_aggregates"
    dropped_table: SqlName = "flink_dropped_events"
    window_size: Duration = timedelta(minutes=5)
    window_slide: Duration = timedelta(minutes=1)
    out_of_orderness: Duration = timedelta(seconds=5)
    idle_timeout: Duration = Field(
        timedelta(seconds=30), description="a partition silent this long stops holding back time"
    )
    checkpoint_interval: Duration = Field(
        timedelta(seconds=10), description="how much a restart replays; offsets commit with it"
    )
    startup: Startup = "group-offsets"
    bounded: bool = Field(False, description="stop at the offsets that were latest at start")
    parallelism: int = Field(1, ge=1, le=64)
    blackhole: bool = Field(False, description="source straight into a blackhole (bench limit)")

    @classmethod
    def for_stack(cls, settings: Settings, **options: Any) -> JobConfig:
        """The stack's features job (FLINK_JOB_NAME, TOPIC, FEATURES_TOPIC, FLINK_GROUP, the
        profile's parallelism); `options` override any field, a None value keeps the setting."""
        named = {
            "name": settings.flink_job_name,
            "source_topic": settings.topic,
            "features_topic": settings.features_topic,
            "group_id": settings.flink_group,
            "parallelism": settings.flink_parallelism,  # 2 in the HA profile (2 TaskManagers)
        }
        named.update({k: v for k, v in options.items() if v is not None or k not in named})
        return cls(**named)

    @model_validator(mode="after")
    def _window_shape(self) -> JobConfig:
        for name in (
            "window_size",
            "window_slide",
            "out_of_orderness",
            "idle_timeout",
            "checkpoint_interval",
        ):
            value: timedelta = getattr(self, name)
            if value < timedelta(0) or value % timedelta(milliseconds=1):
                raise ValueError(f"{name}={value}: must be >= 0 and whole milliseconds")
        if min(self.window_slide, self.window_size, self.checkpoint_interval) <= timedelta(0):
            raise ValueError("window_size, window_slide and checkpoint_interval must be positive")
        if self.window_size % self.window_slide:
            raise ValueError(
                f"window_size={self.window_size} must be a whole multiple of "
                f"window_slide={self.window_slide} (Flink slices hopping windows by the slide)"
            )
        return self
