"""PostgreSQL access: migrations and connections."""
