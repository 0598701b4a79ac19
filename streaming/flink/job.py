"""The program `flink run -pym streaming.flink.job` executes: plan the job and submit it.

It runs in Flink's Python client process (launched by the `flink` CLI with this project's
interpreter), reads the connection settings from the same environment as every other service,
and takes the job's own options as one JSON argument so the CLI and the job cannot disagree on
option parsing. Nothing here runs per record: the statements execute in the cluster's JVMs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from streaming.flink import ddl, queries
from streaming.flink.config import JobConfig, millis
from streaming.settings import Settings, load_settings

CONFIG_FLAG = "--config-json"


def statements(settings: Settings, config: JobConfig) -> tuple[list[str], list[str]]:
    """(DDL and views, INSERTs): the whole job as text, so it can be read and tested offline."""
    setup = [*ddl.functions(), ddl.source(settings, config)]
    if config.blackhole:
        return [*setup, ddl.blackhole()], [queries.blackhole_insert()]
    setup += [
        ddl.features_topic(settings, config),
        ddl.features_table(settings, config),
        ddl.dropped_table(settings, config),
        *queries.views(config),
    ]
    return setup, queries.inserts()


def table_options(config: JobConfig) -> dict[str, str]:
    """Checkpointing is the job's own setting, so it holds on any cluster the job is sent to.

    `upsert-materialize: NONE`: the windows emit each (geo, platform, window_end) once, as an
    insert-only stream, so the JDBC sink's own upsert is all the keying needed. Flink 2.3 sees no
    upsert key on an insert-only stream and would otherwise demand an ON CONFLICT clause, whose
    options either keep every row ever written in state or refuse a replay after recovery.

    `pipeline.object-reuse`: chained operators hand rows on without a deep copy each (10 % of the
    TaskManager's CPU went to copying rows, JFR at 12,000 events/s); the SQL runtime's operators
    copy whatever they keep themselves."""
    options = {
        "pipeline.name": config.name,
        "parallelism.default": str(config.parallelism),
        "table.local-time-zone": "UTC",
        "table.exec.sink.upsert-materialize": "NONE",
        "pipeline.object-reuse": "true",
        "execution.checkpointing.interval": f"{millis(config.checkpoint_interval)} ms",
    }
    if config.idle_timeout:
        options["table.exec.source.idle-timeout"] = f"{millis(config.idle_timeout)} ms"
    return options


def parse_argv(argv: Sequence[str]) -> JobConfig:
    if len(argv) != 2 or argv[0] != CONFIG_FLAG:
        usage = f"python -m streaming.flink.job {CONFIG_FLAG} '<JobConfig JSON>'"
        raise SystemExit(f"usage: {usage} (got {list(argv)!r})")
    return JobConfig.model_validate_json(argv[1])


def main(argv: Sequence[str]) -> None:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    config = parse_argv(argv)
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    for key, value in table_options(config).items():
        env.get_config().set(key, value)
    setup, inserts = statements(load_settings(), config)
    for statement in setup:
        env.execute_sql(statement)
    statement_set = env.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
    client = statement_set.execute().get_job_client()
    print(f"submitted {config.name} as job {client.get_job_id() if client else '?'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
