"""What the long-running services write, observed (never run) by Dagster, and their health."""
