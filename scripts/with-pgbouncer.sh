#!/usr/bin/env bash
# with-pgbouncer.sh: runs a command with two throwaway PgBouncers in front of
# the throwaway PostgreSQL of scripts/with-postgres.sh (run it inside that
# one): one in session pooling mode, one in transaction pooling mode, each on
# 127.0.0.1 on a free port, with its own config, auth file and socket in a
# fresh temporary directory. Stops them and removes that directory whether
# the command passed or not.
#
#   scripts/with-postgres.sh scripts/with-pgbouncer.sh ctest --test-dir build
#
# Exports: POBLYSH_TEST_PGBOUNCER_SESSION_URL and
# POBLYSH_TEST_PGBOUNCER_TX_URL, POBLYSH_TEST_PG_URL's role, password and
# database through each PgBouncer. Any database of the server is reachable
# through them by name (the "*" entry). The transaction-mode pool is small
# (4 server connections), so concurrent clients share server connections.
set -euo pipefail
server_script=with-pgbouncer.sh
# shellcheck source=scripts/servers.sh
source "$(dirname "$0")/servers.sh"

for var in POBLYSH_TEST_PG_URL POBLYSH_TEST_PG_PASSWORD POBLYSH_TEST_PG_PORT; do
  if [ -z "${!var:-}" ]; then
    echo "with-pgbouncer.sh: $var is not set: run it inside scripts/with-postgres.sh" >&2
    exit 1
  fi
done
pgbouncer=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
if [ -z "$pgbouncer" ]; then
  echo "with-pgbouncer.sh: pgbouncer is not installed (bash scripts/deps.sh test installs it)" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/poblysh-pgbouncer.XXXXXX)
chmod 700 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

stop_bouncers() {
  local rc=$?
  for pidfile in "$dir"/*/pgbouncer.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$dir"
  exit $rc
}
trap stop_bouncers EXIT
trap 'exit 130' INT TERM

# The auth file holds the role's password in clear, so PgBouncer can log in
# to the server with SCRAM and check clients with SCRAM too.
user=poblysh
printf '"%s" "%s"\n' "$user" "${POBLYSH_TEST_PG_PASSWORD//\"/\"\"}" >"$dir/userlist.txt"
chmod 600 "$dir/userlist.txt"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/userlist.txt"

# Starts one PgBouncer in mode (session|transaction) with pool size, on a
# free port; prints the port.
start_bouncer() {
  local mode=$1 pool=$2 port
  port=$(free_port)
  mkdir -p "$dir/$mode"
  cat >"$dir/$mode/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$POBLYSH_TEST_PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir/$mode
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $mode
default_pool_size = $pool
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = $dir/$mode/pgbouncer.log
pidfile = $dir/$mode/pgbouncer.pid
EOF
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir/$mode"
  run_as_postgres "$pgbouncer" -d "$dir/$mode/pgbouncer.ini" >"$dir/$mode/start.log" 2>&1 ||
    { cat "$dir/$mode/start.log" "$dir/$mode/pgbouncer.log" >&2 2>/dev/null; return 1; }
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    sleep 0.05
  done
  echo "with-pgbouncer.sh: PgBouncer ($mode) did not listen on 127.0.0.1:$port" >&2
  cat "$dir/$mode/pgbouncer.log" >&2 2>/dev/null || true
  return 1
}

session_port=$(start_bouncer session 20)
tx_port=$(start_bouncer transaction 4)

# POBLYSH_TEST_PG_URL with the PgBouncer's port instead of the server's.
through() {
  local port=$1
  echo "${POBLYSH_TEST_PG_URL/@127.0.0.1:${POBLYSH_TEST_PG_PORT}\//@127.0.0.1:${port}/}"
}
POBLYSH_TEST_PGBOUNCER_SESSION_URL=$(through "$session_port")
POBLYSH_TEST_PGBOUNCER_TX_URL=$(through "$tx_port")
export POBLYSH_TEST_PGBOUNCER_SESSION_URL POBLYSH_TEST_PGBOUNCER_TX_URL
echo "with-pgbouncer.sh: $("$pgbouncer" --version | head -n 1) on 127.0.0.1:$session_port" \
  "(session mode) and 127.0.0.1:$tx_port (transaction mode)" >&2

"$@"
