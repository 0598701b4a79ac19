"""Hourly Parquet compaction of the lake sink's JSON Lines objects."""
