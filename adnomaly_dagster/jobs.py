"""Asset jobs the automation launches: one per partitioning."""

import dagster as dg

lake_hourly_job = dg.define_asset_job(
    "lake_hourly_job",
    selection=["lake_hourly_parquet"],
    description="Compact one lake hour into Parquet (with its checks).",
)
warehouse_daily_job = dg.define_asset_job(
    "warehouse_daily_job",
    selection=["warehouse_daily_stats", "warehouse_hourly_traffic"],
    description="Rebuild one day of the warehouse tables (with their checks).",
)

features_daily_job = dg.define_asset_job(
    "features_daily_job",
    selection=["offline_features_parquet"],
    description="Export one day of feature_aggregates to the Feast offline store.",
)
feature_freshness_job = dg.define_asset_job(
    "feature_freshness_job",
    selection=dg.AssetSelection.checks_for_assets("feature_aggregates"),
    description="Check that the streaming features are fresh.",
)
