"""The schema (migrations) and per-day warehouse tables built from clickstream_events."""
