#!/usr/bin/env bash
# bench.sh: the benchmark of issues 8 and 19 (docs/performance.md), in one
# command. Installs what is missing (the sqlite3 shell, PostgreSQL, MariaDB,
# npm; dbmate 2.36.0 from the npm registry into build-bench/peers), builds in
# Release (-O2) into build-bench with the bench/ targets, starts a throwaway
# PostgreSQL and MariaDB (scripts/with-postgres.sh, scripts/with-mariadb.sh)
# and runs every case of pm_bench, which prints each case's figures and a
# summary table. Arguments are passed to pm_bench, e.g.
# `bash scripts/bench.sh --case 5 --fast-runs 51`.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-bench
dbmate_version=2.36.0
bash scripts/deps.sh bench
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DPOBLYSH_BENCH=ON -DBUILD_TESTING=OFF -DPOBLYSH_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target pm_bench >/dev/null

# dbmate: the npm package pulls its platform's binary package
# (@dbmate/linux-x64 ...); that binary is run, not the Node.js wrapper in
# node_modules/.bin, whose start-up would be timed too.
peers="$build_dir/peers"
find_dbmate() { ls "$PWD/$peers"/node_modules/@dbmate/*/bin/dbmate 2>/dev/null | head -n 1 || true; }
dbmate=$(find_dbmate)
if [ -z "$dbmate" ] || [ "$("$dbmate" --version | awk '{print $3}')" != "$dbmate_version" ]; then
  npm install --prefix "$peers" --no-audit --no-fund "dbmate@$dbmate_version" >/dev/null
  dbmate=$(find_dbmate)
fi
[ -x "$dbmate" ] || { echo "bench.sh: dbmate $dbmate_version did not install" >&2; exit 1; }

sqlite3_shell=$(command -v sqlite3)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
# The machine, for docs/performance.md.
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
  "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "compiler: $(cc --version | head -n 1), -O2 (Release)"
echo "sqlite3 shell: $("$sqlite3_shell" --version | cut -d' ' -f1-2)"
echo "postgresql: $("$pg_bin/postgres" --version), psql $("$pg_bin/psql" --version | awk '{print $3}')"
echo "mariadb: $("$mariadbd" --version | awk '{print $3}'), client $(mariadb --version | head -n 1)"
echo "dbmate: $("$dbmate" --version) (npm registry, $dbmate)"
# psql defaults to $POBLYSH_TEST_PG_BIN/psql, the server's own binary (the
# /usr/bin/psql wrapper is a Perl script that would be timed too).
bash scripts/with-postgres.sh bash scripts/with-mariadb.sh "$build_dir/bench/pm_bench" \
  --sqlite3 "$sqlite3_shell" --dbmate "$dbmate" --work "$PWD/$build_dir/bench-work" "$@"
