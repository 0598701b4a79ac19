"""Durable sinks from the clickstream topic: PostgreSQL and the MinIO lake."""
