"""The event's JSON Schema, committed for other languages (Flink SQL DDL, lake readers).

`python -m streaming.contract --write-schema` regenerates it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from streaming.contract.event import ClickEvent

SCHEMA_PATH: Final = Path(__file__).resolve().parent.parent / "schemas" / "click_event.schema.json"


def current_schema() -> dict[str, Any]:
    """The schema other languages (Flink SQL DDL, the lake readers) are checked against."""
    return ClickEvent.model_json_schema()


def write_schema(path: Path | None = None) -> Path:
    path = path or SCHEMA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current_schema(), indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streaming.contract")
    parser.add_argument("--write-schema", action="store_true", help=f"write {SCHEMA_PATH.name}")
    args = parser.parse_args(argv)
    if args.write_schema:
        print(f"wrote {write_schema()}")
    else:
        print(json.dumps(current_schema(), indent=2))
