#!/bin/sh
# First start of the postgres container: the application role (owner of the
# database, runs the migrations) and the read-only analyst role. Passwords
# come from the container environment (deploy/.env), never from this file.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
  -v app_pw="$SAFESTREAM_PG_PASSWORD" -v analyst_pw="$SAFESTREAM_ANALYST_PG_PASSWORD" <<'SQL'
CREATE ROLE safestream LOGIN PASSWORD :'app_pw';
-- Read-only by default even if a grant slips through; statement_timeout
-- keeps an analyst's runaway query from holding the primary's resources.
CREATE ROLE analyst LOGIN PASSWORD :'analyst_pw'
  CONNECTION LIMIT 20;
ALTER ROLE analyst SET default_transaction_read_only = on;
ALTER ROLE analyst SET statement_timeout = '120s';
CREATE DATABASE safestream OWNER safestream;
SQL
