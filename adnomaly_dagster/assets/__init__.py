"""Assets by domain: ingest (external streams), lake, warehouse, features, detection."""
