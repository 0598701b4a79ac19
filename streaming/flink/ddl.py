"""Flink SQL tables of the features job: the Kafka source and the sinks it writes, and the
job's Java functions (infra/jvm/flink-udf, built into the cluster's lib by `make bootstrap`).

The source reads each JSON field as the contract's type (the timestamp as its text, read by
PARSE_EVENT_TIME into `event_time`, the rowtime); `json.ignore-parse-errors` turns a
malformed field into NULL (and a record that is not JSON at all into nothing) instead of failing
the job, and `queries.py` routes such rows to the dropped-events table. The PostgreSQL sinks use
the JDBC connector's upsert mode, keyed like the tables' primary keys, so a replay after recovery
rewrites rows instead of duplicating them. Their timestamps are TIMESTAMP(3) holding UTC wall-clock
time (the job's session zone is UTC): the JDBC connector 4.0 accepts TIMESTAMP_LTZ in DDL but has
no converter for it at runtime.
"""

from __future__ import annotations

from datetime import timedelta

from streaming.flink.config import JobConfig, millis
from streaming.kafka.config import SASL_MECHANISM, principal_of
from streaming.settings import Settings

FEATURE_COLUMNS = """
  geo STRING, platform STRING, window_start {ts}, window_end {ts},
  ctr_avg DOUBLE, bounce_rate_avg DOUBLE, event_count BIGINT, cpc_avg DOUBLE,
  conversion_rate DOUBLE, unique_users BIGINT, events_per_user DOUBLE,
  suspicious_ua_share DOUBLE"""


# SQL name -> class of each Java function the job calls
FUNCTIONS = {
    "PARSE_EVENT_TIME": "dev.adnomaly.flink.ParseEventTime",
    "CONTAINS_ANY_MARKER": "dev.adnomaly.flink.ContainsAnyMarker",
}


def functions() -> list[str]:
    return [
        f"CREATE TEMPORARY SYSTEM FUNCTION {name} AS '{cls}' LANGUAGE JAVA"
        for name, cls in FUNCTIONS.items()
    ]


def interval(value: timedelta) -> str:
    """A Flink SQL day-time interval literal; `DAY TO SECOND(3)` because plain `SECOND` only
    takes two leading digits (300 s would not parse)."""
    ms = millis(value)
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, ms = divmod(rest, 1000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}' DAY TO SECOND(3)"


def _options(options: dict[str, str]) -> str:
    body = ",\n".join(f"  '{key}' = '{_sql_quote(value)}'" for key, value in options.items())
    return f"WITH (\n{body}\n)"


def _sql_quote(value: str) -> str:
    return value.replace("'", "''")


# the Kafka connector jar shades the Kafka client, login modules included
_SCRAM_LOGIN = (
    "org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule"
)


def kafka_auth(settings: Settings) -> dict[str, str]:
    """The job reads and writes Kafka as the `flink` principal (SASL/SCRAM), unless
    KAFKA_PRINCIPAL names another."""
    user = principal_of(settings, "flink")
    password = settings.kafka_password(user)
    if any(c in password for c in '"\\;'):
        raise ValueError("a Kafka password may not contain a double quote, backslash or semicolon")
    return {
        "properties.security.protocol": "SASL_PLAINTEXT",
        "properties.sasl.mechanism": SASL_MECHANISM,
        "properties.sasl.jaas.config": (
            f'{_SCRAM_LOGIN} required username="{user}" password="{password}";'
        ),
    }


def source(settings: Settings, config: JobConfig) -> str:
    options = {
        "connector": "kafka",
        "topic": config.source_topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        **kafka_auth(settings),
        "properties.group.id": config.group_id,
        "properties.auto.offset.reset": "latest",
        # fetches of up to 100 ms of data instead of whatever arrived since the last one: far
        # fewer requests for the broker to serve at high rates, at most 100 ms more delay
        "properties.fetch.min.bytes": "1048576",
        "properties.fetch.max.wait.ms": "100",
        "scan.startup.mode": config.startup,
        "format": "json",
        "json.ignore-parse-errors": "true",
        "json.fail-on-missing-field": "false",
        "json.timestamp-format.standard": "ISO-8601",
    }
    if config.bounded:
        options["scan.bounded.mode"] = "latest-offset"
    return f"""CREATE TEMPORARY TABLE clicks (
  event_id STRING,
  `timestamp` STRING,
  user_id_hash STRING,
  geo STRING,
  platform STRING,
  user_agent STRING,
  `CPC` DOUBLE,
  `CTR` DOUBLE,
  conversion INT,
  bounce_rate DOUBLE,
  src_topic STRING METADATA FROM 'topic' VIRTUAL,
  src_partition INT METADATA FROM 'partition' VIRTUAL,
  src_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  event_time AS PARSE_EVENT_TIME(`timestamp`),
  WATERMARK FOR event_time AS event_time - {interval(config.out_of_orderness)}
) {_options(options)}"""


def features_topic(settings: Settings, config: JobConfig) -> str:
    """Value = exactly FeatureRow's fields (timestamps pre-formatted like the events'), key =
    `geo|platform`. At-least-once: exactly-once would hold rows back until a checkpoint commits,
    far beyond the emission-delay budget, and readers key rows by (geo, platform, window_end)."""
    options = {
        "connector": "kafka",
        "topic": config.features_topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        **kafka_auth(settings),
        "key.format": "raw",
        "key.fields": "segment_key",
        "value.format": "json",
        "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": "at-least-once",
        "properties.linger.ms": "5",
    }
    columns = FEATURE_COLUMNS.format(ts="STRING")
    return f"CREATE TEMPORARY TABLE features_out (\n  segment_key STRING,{columns}\n) " + _options(
        options
    )


def _jdbc(settings: Settings, table: str) -> dict[str, str]:
    """The job writes PostgreSQL as the flink role (streaming/db/roles.py), unless DB_ROLE=owner."""
    user, password = settings.db_login("flink")
    url = f"jdbc:postgresql://{settings.db_host}:{settings.db_port}/{settings.db_name}"
    return {
        "connector": "jdbc",
        "url": url,
        "table-name": table,
        "username": user,
        "password": password,
        "sink.buffer-flush.interval": "500ms",
        "sink.buffer-flush.max-rows": "1000",
        "sink.max-retries": "5",
    }


def features_table(settings: Settings, config: JobConfig) -> str:
    columns = FEATURE_COLUMNS.format(ts="TIMESTAMP(3)")
    return (
        f"CREATE TEMPORARY TABLE features_pg ({columns},\n"
        "  PRIMARY KEY (geo, platform, window_end) NOT ENFORCED\n) "
        + _options(_jdbc(settings, config.features_table))
    )


def dropped_table(settings: Settings, config: JobConfig) -> str:
    return f"""CREATE TEMPORARY TABLE dropped_pg (
  source_topic STRING, kafka_partition INT, kafka_offset BIGINT, reason STRING,
  event_id STRING, geo STRING, platform STRING, event_time TIMESTAMP(3),
  watermark_at TIMESTAMP(3),
  PRIMARY KEY (source_topic, kafka_partition, kafka_offset) NOT ENFORCED
) {_options(_jdbc(settings, config.dropped_table))}"""


def blackhole() -> str:
    """Every physical column of the source and the parsed event time, so the benchmark's limit
    reads as much as the job does (a narrower sink would let the planner project fields away)."""
    return (
        "CREATE TEMPORARY TABLE void (event_time TIMESTAMP_LTZ(3))"
        " WITH ('connector' = 'blackhole') LIKE clicks (EXCLUDING ALL)"
    )
