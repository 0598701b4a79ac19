"""Warehouse: the schema (migrations) and per-day tables built from clickstream_events.

Each day partition is replaced in one transaction (delete, then insert), so reruns and
backfills are safe; the day's bounds are bound parameters, never formatted into SQL.
"""

from collections.abc import Iterator

import dagster as dg

from adnomaly_dagster.assets.ingest import CLICKSTREAM_EVENTS
from adnomaly_dagster.constants import WAREHOUSE
from adnomaly_dagster.partitions import daily, day_window
from adnomaly_dagster.resources import PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.db.migrations import migrate

TABLES = ("clickstream_events", "feature_aggregates", "anomaly_results", "fraud_labels")


@dg.asset(
    group_name=WAREHOUSE,
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


@dg.asset(
    group_name=WAREHOUSE,
    kinds={"postgres", "sql"},
    partitions_def=daily,
    deps=[postgres_schema, CLICKSTREAM_EVENTS],
    description="Per (day, geo, platform): events, unique users, CTR, CPC, bounce, conversions "
    "and spend, from clickstream_events; one partition per UTC day, replaced on rerun.",
    check_specs=[
        dg.AssetCheckSpec(
            "metrics_in_contract_ranges", asset="warehouse_daily_stats", blocking=True
        ),
        dg.AssetCheckSpec("no_duplicate_event_ids", asset="warehouse_daily_stats", blocking=True),
    ],
)
def warehouse_daily_stats(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> Iterator[dg.AssetCheckResult | dg.Output[None]]:
    start, end = day_window(context.partition_key)
    params = {"day": start.date(), "start": start, "end": end}
    with postgres.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM warehouse_daily_stats WHERE day = %(day)s", params)
        inserted = conn.execute(_DAILY, params).rowcount
        top = conn.execute(
            "SELECT geo, sum(events)::bigint, avg(ctr_avg) FROM warehouse_daily_stats"
            " WHERE day = %(day)s GROUP BY geo ORDER BY 2 DESC LIMIT 10",
            params,
        ).fetchall()
        totals = conn.execute(
            "SELECT coalesce(sum(events), 0), count(*) FILTER (WHERE ctr_avg NOT BETWEEN 0.005 AND"
            " 0.05 OR cpc_avg NOT BETWEEN 0.10 AND 1.20 OR bounce_rate_avg NOT BETWEEN 0.2 AND 0.9)"
            " FROM warehouse_daily_stats WHERE day = %(day)s",
            params,
        ).fetchone()
        dupes = conn.execute(
            "SELECT count(*) - count(DISTINCT event_id) FROM clickstream_events"
            " WHERE timestamp >= %(start)s AND timestamp < %(end)s",
            params,
        ).fetchone()
    events, out_of_range = (int(totals[0]), int(totals[1])) if totals else (0, 0)
    context.log.info(f"{context.partition_key}: {inserted} segments, {events} events")
    yield dg.AssetCheckResult(
        check_name="metrics_in_contract_ranges",
        passed=out_of_range == 0,
        metadata={"segments_out_of_range": out_of_range},
    )
    duplicates = int(dupes[0]) if dupes else 0
    yield dg.AssetCheckResult(
        check_name="no_duplicate_event_ids",
        passed=duplicates == 0,
        metadata={"duplicate_events": duplicates},
    )
    yield dg.Output(
        None,
        metadata={
            "segments": dg.MetadataValue.int(inserted),
            "events": dg.MetadataValue.int(events),
            "top_geos": dg.MetadataValue.md(markdown_table(["geo", "events", "ctr_avg"], top)),
        },
    )


@dg.asset(
    group_name=WAREHOUSE,
    kinds={"postgres", "sql"},
    partitions_def=daily,
    deps=[postgres_schema, CLICKSTREAM_EVENTS],
    description="Hourly traffic per (geo, platform) for one UTC day: events, unique users, CTR, "
    "conversion rate; replaced on rerun.",
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
