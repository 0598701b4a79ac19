"""The features job's Java functions (infra/jvm/flink-udf) on a real JVM: PyFlink's local
cluster, with the jar `make bootstrap` built into the cluster's lib.

PARSE_EVENT_TIME must read a timestamp as Flink's own JSON format reads a TIMESTAMP_LTZ field with
'ISO-8601' (what the job did before it): both read the same texts here, from a JSON file, side by
side. The one difference is deliberate: a date or time that does not exist is NULL (invalid, as
the contract has it), where the format moved it to a nearby one. CONTAINS_ANY_MARKER must agree
with the Python reference's `any(marker in ua.lower())`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.feature_contract import SUSPICIOUS_UA_MARKERS
from streaming.flink import ddl, queries
from streaming.generator.user_agents import UA_TABLE
from streaming.settings import load_settings

# dates and times that do not exist: the JSON format's lenient resolver moves them
IMPOSSIBLE = {
    "2026-02-29T00:00:00.000Z",
    "2026-02-30T00:00:00.000Z",
    "2026-04-31T00:00:00.000Z",
    "2026-12-02T24:00:00.000Z",
    "2026-02-30T00:00:00Z",
}
TIMESTAMPS = [
    "2026-12-02T03:04:05.678Z",  # the contract's canonical form
    "1970-01-01T00:00:00.000Z",
    "2024-02-29T23:59:59.999Z",  # a leap day
    "2026-02-29T00:00:00.000Z",  # not one
    "2026-02-30T00:00:00.000Z",
    "2026-04-31T00:00:00.000Z",
    "2026-13-01T00:00:00.000Z",
    "2026-00-10T00:00:00.000Z",
    "2026-12-02T24:00:00.000Z",
    "2026-12-02T23:60:00.000Z",
    "2026-12-02T23:59:60.000Z",
    "2026-12-02T03:04:05Z",  # other forms the JSON format reads (or not): same answer
    "2026-12-02T03:04:05.6Z",
    "2026-12-02T03:04:05.678912345Z",
    "2026-12-02T03:04:05.678+00:00",
    "2026-12-02 03:04:05.678Z",
    "2026-12-02T03:04:05.678z",
    "2026-12-02T03:04:05.678",
    "2026-12-02T03:04:05.678Zx",
    "2026-02-30T00:00:00Z",  # impossible, and not canonical
    "2026-12-2T03:04:05.678Z",
    "20261202T030405.678Z",
    "2026-12-02T03:04:05.67aZ",
    "2026-12-02T03:04:05.678 ",
    "",
    "garbage",
]


@pytest.fixture(scope="module")
def flink() -> Iterator[Any]:
    jar = load_settings().tools_dir / "flink-lib" / "adnomaly-flink-udf.jar"
    assert jar.is_file(), f"{jar} missing: `make bootstrap` builds it"
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    env.get_config().set("parallelism.default", "1")
    env.get_config().set("table.local-time-zone", "UTC")  # as the job sets it
    env.execute_sql(f"ADD JAR '{jar}'")
    for statement in ddl.functions():
        env.execute_sql(statement)
    yield env


def _rows(env: Any, query: str) -> list[tuple[Any, ...]]:
    with env.execute_sql(query).collect() as rows:
        return [tuple(row) for row in rows]


def test_parse_event_time_reads_what_the_json_format_reads(flink: Any, tmp_path: Path) -> None:
    path = tmp_path / "ts.json"
    path.write_text("".join(json.dumps({"ts": t, "txt": t}) + "\n" for t in TIMESTAMPS))
    flink.execute_sql(f"""CREATE TEMPORARY TABLE stamps (ts TIMESTAMP_LTZ(3), txt STRING) WITH (
  'connector' = 'filesystem', 'path' = '{path}', 'format' = 'json',
  'json.ignore-parse-errors' = 'true', 'json.timestamp-format.standard' = 'ISO-8601')""")
    rows = _rows(
        flink,
        "SELECT txt, CAST(ts AS STRING), CAST(PARSE_EVENT_TIME(txt) AS STRING) FROM stamps",
    )
    assert sorted(r[0] for r in rows) == sorted(TIMESTAMPS)  # every line read
    differ = {raw: (theirs, ours) for raw, theirs, ours in rows if theirs != ours}
    assert set(differ) == IMPOSSIBLE, f"PARSE_EVENT_TIME disagrees with the JSON format: {differ}"
    assert all(ours is None and theirs is not None for theirs, ours in differ.values())
    parsed = {raw: ours for raw, _, ours in rows}
    assert parsed["2026-12-02T03:04:05.678Z"] == "2026-12-02 03:04:05.678"
    assert parsed["2024-02-29T23:59:59.999Z"] == "2024-02-29 23:59:59.999"
    assert parsed["2026-02-30T00:00:00.000Z"] is None and parsed["garbage"] is None
    assert _rows(flink, "SELECT PARSE_EVENT_TIME(CAST(NULL AS STRING))") == [(None,)]


def test_contains_any_marker_agrees_with_the_python_reference(flink: Any) -> None:
    samples = [*UA_TABLE, "sdkXgphone", "Mozilla/5.0 (robot)", "spide", "b o t", "", "ÄBOTÜ"]
    samples += [f"x {m.upper()} y" for m in SUSPICIOUS_UA_MARKERS]
    values = ", ".join("('" + s.replace("'", "''") + "')" for s in samples)
    condition = queries.suspicious_condition().replace("user_agent", "ua")
    query = f"SELECT ua, {condition} FROM (VALUES {values}) AS v(ua)"  # noqa: S608 (own samples)
    rows = _rows(flink, query)
    assert len(rows) == len(samples)
    for ua, flagged in rows:
        assert flagged == any(m in ua.lower() for m in SUSPICIOUS_UA_MARKERS), ua
    assert any(flagged for _, flagged in rows if _ in UA_TABLE), "no bot UA in the table: weak"
    assert _rows(flink, "SELECT CONTAINS_ANY_MARKER(CAST(NULL AS STRING), 'bot')") == [(None,)]
