#!/usr/bin/env bash
# Start a local PostgreSQL cluster (Debian's tools) with a scratch database for the portal tests.
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DROP DATABASE IF EXISTS visitdesk_test;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'visitdesk') THEN
    CREATE ROLE visitdesk LOGIN PASSWORD 'visitdesk-ci';
  ELSE
    ALTER ROLE visitdesk PASSWORD 'visitdesk-ci';
  END IF;
END $$;
CREATE DATABASE visitdesk_test OWNER visitdesk;
SQL
