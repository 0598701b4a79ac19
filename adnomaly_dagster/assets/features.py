"""Features: the offline Parquet Feast reads (per day), `feast apply`, and materialization of the
offline rows into the online store, plus a freshness check on the streaming features."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from adnomaly_dagster.assets.ingest import FEATURE_AGGREGATES
from adnomaly_dagster.constants import FEATURES
from adnomaly_dagster.partitions import daily, day_window
from adnomaly_dagster.resources import PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.settings import Settings, load_settings


class FeastResource(dg.ConfigurableResource):
    """The Feast repository; the store's other settings (Redis, registry, offline dir) come
    from the same environment as every service (streaming/features/store.py)."""

    repo_path: str

    def settings(self) -> Settings:
        return load_settings(FEATURE_REPO_PATH=self.repo_path)

    def store(self) -> Any:
        from streaming.features.store import open_store

        settings = self.settings()
        return open_store(settings, settings.feature_repo_path)


@dg.asset(
    group_name=FEATURES,
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
    group_name=FEATURES,
    kinds={"parquet", "postgres"},
    partitions_def=daily,
    deps=[FEATURE_AGGREGATES, feast_apply],
    description="One UTC day of feature_aggregates as Parquet in the Feast offline store "
    "(day=YYYY-MM-DD/part-0.parquet); a rerun replaces the day.",
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
    group_name=FEATURES,
    kinds={"feast", "redis"},
    deps=[offline_features_parquet, feast_apply],
    automation_condition=dg.AutomationCondition.eager(),
    description="Loads the offline features newer than the last run into the Redis online store "
    "(feast materialize-incremental); the streaming ingestor keeps it current in between.",
)
def feast_materialize(feast: FeastResource) -> dg.MaterializeResult:
    end = datetime.now(UTC)
    feast.store().materialize_incremental(end_date=end)
    return dg.MaterializeResult(metadata={"materialized_until": dg.MetadataValue.text(f"{end}")})


@dg.asset_check(
    asset=FEATURE_AGGREGATES.key,
    description="The newest 5-minute window is at most 10 minutes old: the Flink job is writing.",
)
def feature_freshness(postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as conn:
        row = conn.execute("SELECT max(window_end), count(*) FROM feature_aggregates").fetchone()
    newest = row[0] if row else None
    age = (datetime.now(UTC) - newest).total_seconds() if newest else None
    return dg.AssetCheckResult(
        passed=age is not None and age <= 600,
        metadata={
            "newest_window_end": dg.MetadataValue.text(str(newest)),
            "age_seconds": dg.MetadataValue.float(round(age, 1) if age is not None else -1.0),
            "rows": dg.MetadataValue.int(int(row[1]) if row else 0),
        },
    )
