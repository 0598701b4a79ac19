"""Adnomaly's Dagster code location, a `dg` project ([tool.dg] in pyproject.toml).

definitions.py loads everything under defs/, one folder per domain (ingest, warehouse, lake,
features, detection) with its assets, checks, jobs, sensors, schedules and resources side by
side; resources.py, health.py, partitions.py and tables.py are the shared library they use.
"""
