#!/usr/bin/env bash
# bench.sh: the benchmark of issue 8 (docs/performance.md), in one command.
# Installs what is missing (the sqlite3 shell, PostgreSQL), builds in Release
# (-O2) into build-bench with the bench/ targets, starts a throwaway
# PostgreSQL (scripts/with-postgres.sh) and runs every case of pm_bench,
# which prints each case's figures and a summary table. Arguments are passed
# to pm_bench, e.g. `bash scripts/bench.sh --case 5 --fast-runs 51`.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-bench
bash scripts/deps.sh bench
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DPOBLYSH_BENCH=ON -DBUILD_TESTING=OFF -DPOBLYSH_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target pm_bench >/dev/null

sqlite3_shell=$(command -v sqlite3)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
# The machine, for docs/performance.md.
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
  "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "compiler: $(cc --version | head -n 1), -O2 (Release)"
echo "sqlite3 shell: $("$sqlite3_shell" --version | cut -d' ' -f1-2)"
echo "postgresql: $("$pg_bin/postgres" --version), psql $("$pg_bin/psql" --version | awk '{print $3}')"
# psql defaults to $POBLYSH_TEST_PG_BIN/psql, the server's own binary (the
# /usr/bin/psql wrapper is a Perl script that would be timed too).
bash scripts/with-postgres.sh "$build_dir/bench/pm_bench" --sqlite3 "$sqlite3_shell" \
  --work "$PWD/$build_dir/bench-work" "$@"
