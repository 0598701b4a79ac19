#!/bin/bash
# Runs once, on an empty data volume, after 10-app-role-and-databases.sql: the per-service login
# roles of streaming/db/roles.py with their PG_<ROLE>_PASSWORD (the native stack's
# adnomaly_ops/stack/provision.py does the same). Their grants are applied by `adnomaly stack up`
# as the schema owner, after the migrations. Passwords go in as psql variables, never on a command
# line.
set -euo pipefail
for role in generator db_sink lake_sink flink detector ui reader; do
  var="PG_${role^^}_PASSWORD"
  password="${!var:?$var is not set}"
  psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
    -v role="adnomaly_${role}" -v pw="$password" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'pw';
SQL
done
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres -c "GRANT pg_monitor TO adnomaly_reader"
