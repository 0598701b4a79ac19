-- Runs once, on an empty data volume, as the postgres superuser over the unix socket.
-- The same provisioning as the native stack (adnomaly_ops/stack/provision.py): the app role from
-- DB_USER/DB_PASSWORD, NOT a superuser; the app database DB_NAME and Dagster's database
-- DAGSTER_DB_NAME, both owned by it, with their public schemas.
-- Values come from the container's environment (\getenv) and are bound as psql variables,
-- quoted as identifiers (:"x") or literals (:'x'), so no secret is on a command line.
\getenv app_user DB_USER
\getenv app_password DB_PASSWORD
\getenv app_db DB_NAME
\getenv dagster_db DAGSTER_DB_NAME
\if :{?app_user} \else \set missing DB_USER \endif
\if :{?app_password} \else \set missing DB_PASSWORD \endif
\if :{?app_db} \else \set missing DB_NAME \endif
\if :{?dagster_db} \else \set missing DAGSTER_DB_NAME \endif
\if :{?missing}
SELECT set_config('adnomaly.missing', :'missing', false);
DO $$ BEGIN RAISE EXCEPTION '% is not set', current_setting('adnomaly.missing'); END $$;
\endif

CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
CREATE DATABASE :"dagster_db" OWNER :"app_user";

\connect :"app_db"
ALTER SCHEMA public OWNER TO :"app_user";
\connect :"dagster_db"
ALTER SCHEMA public OWNER TO :"app_user";
