"""Fault injection into the running pipeline with exactly-once verification (`adnomaly chaos`)."""
