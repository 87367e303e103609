#!/usr/bin/env bash
# with-mariadb.sh: runs a command against a throwaway MariaDB server.
# mariadb-install-db (as the mysql user) into a fresh temporary directory,
# mariadbd on 127.0.0.1 on a free port with its socket in that directory, a
# test user whose password has URL-special characters, export its URL, run
# the command, then stop and remove the server whether the command passed or
# not.
#
#   scripts/with-mariadb.sh ctest --test-dir build -L mariadb
#
# Exports: POBLYSH_TEST_MYSQL_URL (user "poblysh" with every privilege,
# database "poblysh_test", over TCP), POBLYSH_TEST_MYSQL_PASSWORD (the raw
# password), POBLYSH_TEST_MYSQL_PORT, POBLYSH_TEST_MYSQL_SOCKET.
set -euo pipefail
server_script=with-mariadb.sh
# shellcheck source=scripts/servers.sh
source "$(dirname "$0")/servers.sh"

for tool in mariadb-install-db mariadbd mariadb; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "with-mariadb.sh: $tool not found: install mariadb-server (scripts/deps.sh test does)" >&2
    exit 1
  fi
done
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)

dir=$(mktemp -d /tmp/poblysh-mariadb.XXXXXX)
chmod 755 "$dir"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chown mysql: "$dir"
  as_user=(--user=mysql)
fi
port=$(free_port)
socket="$dir/mariadb.sock"
pid=""

stop_server() {
  local rc=$?
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit $rc
}
trap stop_server EXIT
trap 'exit 130' INT TERM

mariadb-install-db "${as_user[@]}" --datadir="$dir/data" --auth-root-authentication-method=socket \
  --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
"$mariadbd" --no-defaults "${as_user[@]}" --datadir="$dir/data" --socket="$socket" --port="$port" \
  --bind-address=127.0.0.1 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --skip-name-resolve --pid-file="$dir/mariadb.pid" --log-error="$dir/error.log" \
  --skip-log-bin --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
  --max-connections=300 >"$dir/mariadbd.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ -S "$socket" ] && mariadb --no-defaults -S "$socket" -u root -e "SELECT 1" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/error.log" >&2; exit 1; }
  sleep 0.1
done
[ -S "$socket" ] || { echo "with-mariadb.sh: server did not start" >&2; cat "$dir/error.log" >&2; exit 1; }

# A password with every character a URL must encode.
password='m@ria:d/b?#%&= x'
encoded='m%40ria%3Ad%2Fb%3F%23%25%26%3D%20x'
mariadb --no-defaults -S "$socket" -u root <<SQL
CREATE USER 'poblysh'@'127.0.0.1' IDENTIFIED BY '${password//\'/\'\'}';
GRANT ALL PRIVILEGES ON *.* TO 'poblysh'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE poblysh_test;
SQL

export POBLYSH_TEST_MYSQL_URL="mysql://poblysh:${encoded}@127.0.0.1:${port}/poblysh_test"
export POBLYSH_TEST_MYSQL_PASSWORD="$password"
export POBLYSH_TEST_MYSQL_PORT="$port"
export POBLYSH_TEST_MYSQL_SOCKET="$socket"
echo "with-mariadb.sh: $("$mariadbd" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

"$@"
