"""Features: `feast apply`, the offline Parquet Feast reads (per day), and materialization of
the offline rows into the online store. (The streaming rows' freshness is feature_aggregates'
freshness policy, in defs/ingest.)"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from adnomaly_dagster.partitions import daily, day_window
from adnomaly_dagster.resources import FeastResource
from adnomaly_dagster.tables import markdown_table

GROUP = "features"
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)


@dg.asset(
    group_name=GROUP,
    kinds={"feast", "python"},
    description="`feast apply` of feature_repo/: entities geo and platform, the feature view "
    "traffic_5m_by_geo_platform (TTL 3 days), its push source and the model's feature service.",
)
def feast_apply(feast: FeastResource) -> dg.MaterializeResult:
    from streaming.features.store import apply_repo

    settings = feast.settings()
    paths = apply_repo(settings, settings.feature_repo_path)
    store = feast.store()
    views = [(v.name, len(v.features), str(v.ttl)) for v in store.list_feature_views()]
    services = [(s.name, len(s.feature_view_projections)) for s in store.list_feature_services()]
    return dg.MaterializeResult(
        metadata={
            "registry": dg.MetadataValue.path(str(paths.registry)),
            "feature_views": dg.MetadataValue.md(
                markdown_table(["view", "features", "ttl"], views)
            ),
            "feature_services": dg.MetadataValue.md(markdown_table(["service", "views"], services)),
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"parquet", "postgres"},
    partitions_def=daily,
    deps=["feature_aggregates", feast_apply],
    description="One UTC day of feature_aggregates as Parquet in the Feast offline store "
    "(day=YYYY-MM-DD/part-0.parquet); a rerun replaces the day.",
    freshness_policy=DAILY_FRESHNESS,
)
def offline_features_parquet(
    context: dg.AssetExecutionContext, feast: FeastResource
) -> dg.MaterializeResult:
    from streaming.features.backfill import backfill
    from streaming.features.store import feast_paths

    settings = feast.settings()
    day = day_window(context.partition_key)[0].date()
    exports = backfill(settings, feast_paths(settings, settings.feature_repo_path), day, day)
    rows = sum(e.rows for e in exports)
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(rows),
            "files": dg.MetadataValue.md(
                markdown_table(["day", "rows", "path"], [(e.day, e.rows, e.path) for e in exports])
            ),
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"feast", "redis"},
    deps=[offline_features_parquet, feast_apply],
    automation_condition=dg.AutomationCondition.eager(),
    description="Loads the offline features newer than the last run into the Redis online store "
    "(feast materialize-incremental); the streaming ingestor keeps it current in between.",
    freshness_policy=DAILY_FRESHNESS,
)
def feast_materialize(feast: FeastResource) -> dg.MaterializeResult:
    end = datetime.now(UTC)
    feast.store().materialize_incremental(end_date=end)
    return dg.MaterializeResult(metadata={"materialized_until": dg.MetadataValue.text(f"{end}")})
