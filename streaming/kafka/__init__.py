"""Kafka plumbing shared by the generator, sinks and services."""
