#!/usr/bin/env bash
# with-standby.sh: runs a command against a throwaway PostgreSQL primary and
# a streaming-replication standby of it, both on 127.0.0.1. initdb the
# primary (as the postgres user) with a replication entry for 127.0.0.1 in
# pg_hba.conf, create a role whose password has URL-special characters and a
# database, copy the primary with pg_basebackup -R (which writes the
# standby's primary_conninfo and standby.signal), start the standby, export
# the URLs, run the command, then stop and remove both clusters whether the
# command passed or not.
#
#   scripts/with-standby.sh ctest --test-dir build -R test_standby
#
# Exports: POBLYSH_TEST_PG_PRIMARY_URL and POBLYSH_TEST_PG_STANDBY_URL
# (superuser role "poblysh", database "poblysh_test", over TCP),
# POBLYSH_TEST_PG_PAIR_PASSWORD (the raw password, so tests can check it is
# never printed), POBLYSH_TEST_PG_PRIMARY_PORT, POBLYSH_TEST_PG_STANDBY_PORT.
set -euo pipefail
server_script=with-standby.sh
# shellcheck source=scripts/servers.sh
source "$(dirname "$0")/servers.sh"

pg_bin=${POBLYSH_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_basebackup" ]; then
  echo "with-standby.sh: no PostgreSQL server found under /usr/lib/postgresql/*/bin" >&2
  echo "with-standby.sh: install it (apt-get install postgresql) and run again" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/poblysh-pgpair.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
primary_port=$(free_port)
standby_port=$(free_port "$primary_port")

stop_clusters() {
  local rc=$?
  for cluster in standby primary; do
    [ -d "$dir/$cluster" ] &&
      run_as_postgres "$pg_bin/pg_ctl" -D "$dir/$cluster" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$dir"
  exit $rc
}
trap stop_clusters EXIT
trap 'exit 130' INT TERM

start_cluster() { # name port
  run_as_postgres "$pg_bin/pg_ctl" -D "$dir/$1" -l "$dir/$1.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $dir -c fsync=off -c max_connections=100" start \
    >/dev/null || { cat "$dir/$1.log" >&2; exit 1; }
}

run_as_postgres "$pg_bin/initdb" -D "$dir/primary" -U postgres --auth-local=trust \
  --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# pg_basebackup and the standby's walreceiver connect as postgres over TCP
# without a password: trust replication from loopback only.
hba="$dir/primary/pg_hba.conf"
run_as_postgres sh -c "{ echo 'host replication postgres 127.0.0.1/32 trust'; cat '$hba'; } \
  > '$hba.new' && mv '$hba.new' '$hba'"
cat >>"$dir/primary/postgresql.conf" <<CONF
wal_level = replica
max_wal_senders = 5
hot_standby = on
CONF
start_cluster primary "$primary_port"

# A password with every character a URL must encode.
password='st@ndby:p/w?#%&= x'
encoded='st%40ndby%3Ap%2Fw%3F%23%25%26%3D%20x'
psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$primary_port" -U postgres -d postgres)
run_as_postgres "${psql[@]}" -c "CREATE ROLE poblysh LOGIN SUPERUSER PASSWORD '${password//\'/\'\'}'" \
  -c "CREATE DATABASE poblysh_test OWNER poblysh"

run_as_postgres "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
  -D "$dir/standby" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
  { cat "$dir/basebackup.log" >&2; exit 1; }
start_cluster standby "$standby_port"
in_recovery=$(run_as_postgres "$pg_bin/psql" -X -qAt -h "$dir" -p "$standby_port" -U postgres \
  -d postgres -c "SELECT pg_is_in_recovery()")
if [ "$in_recovery" != t ]; then
  echo "with-standby.sh: the standby on port $standby_port is not in recovery" >&2
  exit 1
fi

export POBLYSH_TEST_PG_PRIMARY_URL="postgresql://poblysh:${encoded}@127.0.0.1:${primary_port}/poblysh_test"
export POBLYSH_TEST_PG_STANDBY_URL="postgresql://poblysh:${encoded}@127.0.0.1:${standby_port}/poblysh_test"
export POBLYSH_TEST_PG_PAIR_PASSWORD="$password"
export POBLYSH_TEST_PG_PRIMARY_PORT="$primary_port"
export POBLYSH_TEST_PG_STANDBY_PORT="$standby_port"
echo "with-standby.sh: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') primary on" \
  "127.0.0.1:$primary_port, standby on 127.0.0.1:$standby_port" >&2

"$@"
