"""PostgreSQL roles per service: what each may do to which table, and nothing more.

The schema owner (DB_USER) runs the migrations and the Dagster assets that rebuild the
warehouse; every supervised service logs in as its own role (`adnomaly_<role>`, password
PG_<ROLE>_PASSWORD from .env) with the grants below. The stack manager creates the roles and
applies these grants after every migration run, revoking anything else first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from psycopg import sql

ROLES: Final = ("generator", "db_sink", "lake_sink", "flink", "detector", "ui", "reader")

# role -> [(privileges, table)]; every role may also read schema_migrations (to see the schema
# is current) and use the schema
GRANTS: Final[dict[str, list[tuple[str, str]]]] = {
    "generator": [("INSERT", "fraud_labels")],
    "db_sink": [
        ("SELECT, INSERT", "clickstream_events"),
        ("SELECT, INSERT, UPDATE", "sink_progress"),
    ],
    "lake_sink": [("SELECT, INSERT, UPDATE", "sink_progress")],
    # the JDBC sink upserts (INSERT ... ON CONFLICT DO UPDATE reads the conflicting row)
    "flink": [
        ("SELECT, INSERT, UPDATE", "feature_aggregates"),
        ("SELECT, INSERT, UPDATE", "flink_dropped_events"),
    ],
    "detector": [
        ("SELECT, INSERT, UPDATE", "anomaly_results"),
        ("SELECT", "feature_aggregates"),
    ],
    # the incidents app reads everything it shows and records analysts' verdicts
    "ui": [
        ("SELECT", "anomaly_results"),
        ("SELECT", "feature_aggregates"),
        ("SELECT", "clickstream_events"),
        ("SELECT", "fraud_labels"),
        ("SELECT, INSERT", "incident_verdicts"),
        ("SELECT", "incident_current_verdicts"),
    ],
    "reader": [
        ("SELECT", table)
        for table in (
            "clickstream_events",
            "feature_aggregates",
            "anomaly_results",
            "fraud_labels",
            "sink_progress",
            "flink_dropped_events",
            "warehouse_daily_stats",
            "warehouse_hourly_traffic",
            "incident_verdicts",
            # views
            "recent_events",
            "daily_stats",
            "incident_current_verdicts",
        )
    ],
}
SEQUENCES: Final = {"detector": ["anomaly_results_id_seq"], "ui": ["incident_verdicts_id_seq"]}
# the db sink creates each day's partition through this SECURITY DEFINER function (migration
# 0009), not with a CREATE privilege of its own
FUNCTIONS: Final = {"db_sink": ["ensure_clickstream_partition(date)"]}


def role_name(role: str) -> str:
    return f"adnomaly_{role}"


def grant_statements(schema: str = "public") -> Iterator[sql.Composed]:
    """REVOKE everything, then GRANT exactly GRANTS, for every role, in `schema`."""
    s = sql.Identifier(schema)
    for role in ROLES:
        who = sql.Identifier(role_name(role))
        yield sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, who)
        yield sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(s, who)
        yield sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {} FROM {}").format(s, who)
        yield sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, who)
        yield sql.SQL("GRANT SELECT ON {}.schema_migrations TO {}").format(s, who)
        for privileges, table in GRANTS[role]:
            yield sql.SQL("GRANT {} ON {}.{} TO {}").format(
                sql.SQL(privileges), s, sql.Identifier(table), who
            )
        for sequence in SEQUENCES.get(role, []):
            yield sql.SQL("GRANT USAGE ON SEQUENCE {}.{} TO {}").format(
                s, sql.Identifier(sequence), who
            )
        for function in FUNCTIONS.get(role, []):
            yield sql.SQL("GRANT EXECUTE ON FUNCTION {}.{} TO {}").format(s, sql.SQL(function), who)
