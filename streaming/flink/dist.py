"""Where the Flink distribution lives: the apache-flink wheel's scripts and jars, and the lib
directory `make bootstrap` fills with them plus the Kafka SQL connector."""

from __future__ import annotations

from pathlib import Path

import pyflink

from streaming.settings import Settings


def pyflink_home() -> Path:
    return Path(pyflink.__file__).resolve().parent


def flink_lib(settings: Settings) -> Path:
    return settings.tools_dir / "flink-lib"
