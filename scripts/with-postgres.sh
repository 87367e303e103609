#!/usr/bin/env bash
# with-postgres.sh: runs a command against a throwaway PostgreSQL cluster.
# initdb (as the postgres user) into a fresh temporary directory, listen on
# 127.0.0.1 on a free port with the socket in that directory, create a test
# role whose password has URL-special characters, export its URLs, run the
# command, then stop and remove the cluster whether the command passed or not.
#
#   scripts/with-postgres.sh ctest --test-dir build
#
# Exports: POBLYSH_TEST_PG_URL (superuser role "poblysh", database
# "poblysh_test", over TCP), POBLYSH_TEST_DBI_PGSQL_URL (the same through
# libdbi's pgsql driver), POBLYSH_TEST_PG_PASSWORD (the raw password, so
# tests can check it is never printed), POBLYSH_TEST_PG_PORT,
# POBLYSH_TEST_PG_SOCKET_DIR, POBLYSH_TEST_PG_BIN.
set -euo pipefail
server_script=with-postgres.sh
# shellcheck source=scripts/servers.sh
source "$(dirname "$0")/servers.sh"

pg_bin=${POBLYSH_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "with-postgres.sh: no PostgreSQL server found under /usr/lib/postgresql/*/bin" >&2
  echo "with-postgres.sh: install it (apt-get install postgresql) and run again" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/poblysh-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
port=$(free_port)

stop_cluster() {
  local rc=$?
  run_as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit $rc
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

run_as_postgres "$pg_bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
  --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
run_as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start \
  >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

# A password with every character a URL must encode.
password='p@ss:w/rd?#%&= x'
encoded='p%40ss%3Aw%2Frd%3F%23%25%26%3D%20x'
psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres)
run_as_postgres "${psql[@]}" -c "CREATE ROLE poblysh LOGIN SUPERUSER PASSWORD '${password//\'/\'\'}'" \
  -c "CREATE DATABASE poblysh_test OWNER poblysh"

export POBLYSH_TEST_PG_URL="postgresql://poblysh:${encoded}@127.0.0.1:${port}/poblysh_test"
export POBLYSH_TEST_DBI_PGSQL_URL="dbi:pgsql://poblysh:${encoded}@127.0.0.1:${port}/poblysh_test"
export POBLYSH_TEST_PG_PASSWORD="$password"
export POBLYSH_TEST_PG_PORT="$port"
export POBLYSH_TEST_PG_SOCKET_DIR="$dir"
export POBLYSH_TEST_PG_BIN="$pg_bin"
echo "with-postgres.sh: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

"$@"
