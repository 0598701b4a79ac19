"""The 5-minute (geo, platform) features outside the Flink job: the Feast feature store (repo
location, offline backfill, online ingestion, retrieval) and a reference computation of them."""
