"""The Adnomaly stack: native processes under supervisord, or Docker Compose."""
