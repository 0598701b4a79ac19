"""The Feast feature store: registry, offline Parquet per day, online materialization."""
