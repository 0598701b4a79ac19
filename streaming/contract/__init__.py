"""The clickstream event contract shared by the generator, every sink and the Flink job.

`event` holds the model; `validate` checks whole batches (`rules` and `fast` are its columnar
path, derived from the model); `schema` writes the committed JSON Schema.
"""

from streaming.contract.event import (
    BOUNCE_RANGE,
    CPC_RANGE,
    CTR_RANGE,
    GEOS,
    PLATFORMS,
    USER_AGENT_MAX_LEN,
    ClickEvent,
    ContractError,
    Geo,
    Platform,
    UtcMillis,
    format_timestamp,
    parse_event,
)
from streaming.contract.schema import SCHEMA_PATH, current_schema, write_schema
from streaming.contract.validate import FAST_MIN, check_wire, validate_many, wire_records

__all__ = [
    "BOUNCE_RANGE",
    "CPC_RANGE",
    "CTR_RANGE",
    "FAST_MIN",
    "GEOS",
    "PLATFORMS",
    "SCHEMA_PATH",
    "USER_AGENT_MAX_LEN",
    "ClickEvent",
    "ContractError",
    "Geo",
    "Platform",
    "UtcMillis",
    "check_wire",
    "current_schema",
    "format_timestamp",
    "parse_event",
    "validate_many",
    "wire_records",
    "write_schema",
]
