"""Names shared across the code location: asset groups, partition starts, thresholds."""

from __future__ import annotations

INGEST = "ingest"
LAKE = "lake"
WAREHOUSE = "warehouse"
FEATURES = "features"
DETECTION = "detection"

# History goes back up to the seed's 12 months; partitions start a little before that.
PARTITIONS_START = "2025-11-01"

# Consumer groups the stream-health sensor watches, with the topic each reads.
WATCHED_GROUPS = {
    "adnomaly-db-sink": "clickstream",
    "adnomaly-lake-sink": "clickstream",
}

LAKE_PREFIX = "clickstream"
PARQUET_PREFIX = "parquet/clickstream"
