"""Warehouse: the schema (migrations) and per-day tables built from clickstream_events.

Each day partition is replaced in one transaction (delete, then insert), so reruns and
backfills are safe; the day's bounds are bound parameters, never formatted into SQL.
"""

from datetime import timedelta

import dagster as dg
import psycopg

from adnomaly_dagster.partitions import daily, day_window
from adnomaly_dagster.resources import PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.contract import GEOS
from streaming.db.migrations import migrate

GROUP = "warehouse"
TABLES = ("clickstream_events", "feature_aggregates", "anomaly_results", "fraud_labels")
# built once a day, ~30 minutes after the day ends (warehouse_days_when_complete)
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)


@dg.asset(
    group_name=GROUP,
    kinds={"postgres", "sql"},
    description="Applies the ordered SQL migrations of infra/migrations (each once, recorded in "
    "schema_migrations): partitioned clickstream_events, features, anomalies, labels, views.",
)
def postgres_schema(postgres: PostgresResource) -> dg.MaterializeResult:
    with postgres.connect() as conn:
        applied = migrate(conn)
        conn.commit()
        versions = conn.execute(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1"
        )
        rows = [(v, n, f"{at:%Y-%m-%d %H:%M}") for v, n, at in versions.fetchall()]
        estimates = conn.execute(
            "SELECT relname, greatest(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "applied_now": dg.MetadataValue.int(len(applied)),
            "migrations": dg.MetadataValue.md(markdown_table(["version", "file", "applied"], rows)),
            "approx_rows": dg.MetadataValue.md(
                markdown_table(["table", "rows (estimate)"], estimates)
            ),
        }
    )


_DAILY = (
    "INSERT INTO warehouse_daily_stats SELECT %(day)s::date, geo, platform, count(*),"
    " count(DISTINCT user_id_hash), avg(ctr), avg(cpc), avg(bounce_rate), sum(conversion), sum(cpc)"
    " FROM clickstream_events WHERE timestamp >= %(start)s AND timestamp < %(end)s"
    " GROUP BY geo, platform"
)
_HOURLY = (
    "INSERT INTO warehouse_hourly_traffic SELECT date_trunc('hour', timestamp), geo, platform,"
    " count(*), count(DISTINCT user_id_hash), avg(ctr), avg(conversion)"
    " FROM clickstream_events WHERE timestamp >= %(start)s AND timestamp < %(end)s"
    " GROUP BY 1, 2, 3"
)


def known_geos(conn: psycopg.Connection, params: dict[str, object]) -> dg.AssetCheckResult:
    """The day's segments use only the contract's countries. clickstream_events.geo is a bare
    char(2) (the table cannot bound it), so a writer that skips the contract shows here."""
    unknown = conn.execute(
        "SELECT geo, sum(events)::bigint FROM warehouse_daily_stats"
        " WHERE day = %(day)s AND NOT geo = ANY(%(geos)s) GROUP BY geo ORDER BY 2 DESC",
        {**params, "geos": list(GEOS)},
    ).fetchall()
    return dg.AssetCheckResult(
        check_name="known_geos",
        passed=not unknown,
        metadata={
            "unknown_geo_events": sum(int(n) for _, n in unknown),
            "unknown_geos": dg.MetadataValue.md(markdown_table(["geo", "events"], unknown)),
        },
    )


def no_duplicate_event_ids(
    conn: psycopg.Connection, params: dict[str, object]
) -> dg.AssetCheckResult:
    """The primary key is (event_id, timestamp): one event_id stored under two timestamps (a
    producer that re-stamps a retry) is possible in the table and counted twice by the day."""
    row = conn.execute(
        "SELECT count(*) - count(DISTINCT event_id) FROM clickstream_events"
        " WHERE timestamp >= %(start)s AND timestamp < %(end)s",
        params,
    ).fetchone()
    duplicates = int(row[0]) if row else 0
    return dg.AssetCheckResult(
        check_name="no_duplicate_event_ids",
        passed=duplicates == 0,
        metadata={"duplicate_events": duplicates},
    )


@dg.asset(
    group_name=GROUP,
    kinds={"postgres", "sql"},
    partitions_def=daily,
    deps=[postgres_schema, "clickstream_events"],
    metadata={"dagster/table_name": "warehouse_daily_stats"},
    description="Per (day, geo, platform): events, unique users, CTR, CPC, bounce, conversions "
    "and spend, from clickstream_events; one partition per UTC day, replaced on rerun.",
    check_specs=[
        dg.AssetCheckSpec(
            "known_geos",
            asset="warehouse_daily_stats",
            blocking=True,
            description="Every segment's geo is one of the event contract's countries.",
        ),
        dg.AssetCheckSpec(
            "no_duplicate_event_ids",
            asset="warehouse_daily_stats",
            blocking=True,
            description="No event_id is stored twice in the day (under two timestamps).",
        ),
    ],
    freshness_policy=DAILY_FRESHNESS,
)
def warehouse_daily_stats(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:
    start, end = day_window(context.partition_key)
    params: dict[str, object] = {"day": start.date(), "start": start, "end": end}
    with postgres.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM warehouse_daily_stats WHERE day = %(day)s", params)
        inserted = conn.execute(_DAILY, params).rowcount
        top = conn.execute(
            "SELECT geo, sum(events)::bigint, avg(ctr_avg) FROM warehouse_daily_stats"
            " WHERE day = %(day)s GROUP BY geo ORDER BY 2 DESC LIMIT 10",
            params,
        ).fetchall()
        total = conn.execute(
            "SELECT coalesce(sum(events), 0), coalesce(sum(spend), 0)"
            " FROM warehouse_daily_stats WHERE day = %(day)s",
            params,
        ).fetchone()
        checks = [known_geos(conn, params), no_duplicate_event_ids(conn, params)]
    events, spend = (int(total[0]), float(total[1])) if total else (0, 0.0)
    context.log.info(f"{context.partition_key}: {inserted} segments, {events} events")
    return dg.MaterializeResult(
        metadata={
            "segments": dg.MetadataValue.int(inserted),
            "events": dg.MetadataValue.int(events),
            "spend": dg.MetadataValue.float(round(spend, 2)),
            "top_geos": dg.MetadataValue.md(markdown_table(["geo", "events", "ctr_avg"], top)),
        },
        check_results=checks,
    )


@dg.asset(
    group_name=GROUP,
    kinds={"postgres", "sql"},
    partitions_def=daily,
    deps=[postgres_schema, "clickstream_events"],
    metadata={"dagster/table_name": "warehouse_hourly_traffic"},
    description="Hourly traffic per (geo, platform) for one UTC day: events, unique users, CTR, "
    "conversion rate; replaced on rerun.",
    freshness_policy=DAILY_FRESHNESS,
)
def warehouse_hourly_traffic(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:
    start, end = day_window(context.partition_key)
    params = {"start": start, "end": end}
    with postgres.connect() as conn, conn.transaction():
        conn.execute(
            "DELETE FROM warehouse_hourly_traffic WHERE hour >= %(start)s AND hour < %(end)s",
            params,
        )
        inserted = conn.execute(_HOURLY, params).rowcount
        per_hour = conn.execute(
            "SELECT hour, sum(events)::bigint FROM warehouse_hourly_traffic"
            " WHERE hour >= %(start)s AND hour < %(end)s GROUP BY 1 ORDER BY 1",
            params,
        ).fetchall()
    rows = [(f"{h:%H:%M}", n) for h, n in per_hour]
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(inserted),
            "events_per_hour": dg.MetadataValue.md(markdown_table(["hour", "events"], rows)),
        }
    )
