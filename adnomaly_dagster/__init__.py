"""Adnomaly's Dagster code location: assets, checks, sensors and schedules (definitions.py)."""
