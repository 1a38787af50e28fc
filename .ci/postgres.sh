#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the tests; prints the URL to use.
# Usage: eval "$(bash .ci/postgres.sh)"  -> exports DCS_TEST_POSTGRES_URL
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start 1>&2 || true
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q && break
  sleep 1
done
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 >&2 <<SQL
do \$\$ begin
  if not exists (select from pg_roles where rolname = 'dcs_test') then
    create role dcs_test login createdb password 'dcs_test';
  end if;
end \$\$;
SQL
echo "export DCS_TEST_POSTGRES_URL=postgresql://dcs_test:dcs_test@127.0.0.1:${port}/postgres"
