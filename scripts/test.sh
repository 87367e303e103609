#!/usr/bin/env bash
# test.sh: README command 2. Installs what is missing, builds with warnings as
# errors, starts a throwaway PostgreSQL and MariaDB on 127.0.0.1, and runs every test with
# ctest, then checks what an install prefix gives an outside project
# (scripts/test-installed.sh) and the Debian package (scripts/package.sh);
# exits non-zero if any fails.
# --sanitize builds into build-asan with AddressSanitizer and
# UndefinedBehaviorSanitizer instead.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
# Every driver is required: a missing library fails configure instead of
# leaving a driver (and its tests) out, even when an earlier configure of the
# same build folder (scripts/quickstart.sh, before libdbi was installed)
# cached it as off.
cmake_args=(-DPOBLYSH_WERROR=ON -DBUILD_TESTING=ON -DPOBLYSH_WITH_SQLITE=ON
  -DPOBLYSH_WITH_POSTGRES=ON -DPOBLYSH_WITH_DBI=ON)
case "${1:-}" in
  "") ;;
  --sanitize)
    build_dir=build-asan
    cmake_args+=(-DPOBLYSH_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug) ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

bash scripts/deps.sh test
cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
# Every label must have tests: none may drop out unseen.
for label in unit conformance cli crash sqlite registered postgres mariadb dbi; do
  n=$(ctest --test-dir "$build_dir" -N -L "^${label}\$" | sed -n 's/^Total Tests: //p')
  if [ "${n:-0}" -eq 0 ]; then
    echo "test.sh: no test has the label $label: a driver or a test folder is missing from the build" >&2
    exit 1
  fi
done
# The server tests run against a throwaway PostgreSQL cluster (with PgBouncer
# in front of it in session and transaction pooling mode), a MariaDB server,
# and a PostgreSQL primary with a streaming standby (test_standby), started
# for this run and stopped after it.
bash scripts/with-postgres.sh bash scripts/with-pgbouncer.sh bash scripts/with-mariadb.sh \
  bash scripts/with-standby.sh \
  ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
# What an outside project gets from `cmake --install`: the example service
# built from the prefix with find_package and with pkg-config, the
# standalone poblysh, and the C examples of the docs (scripts/test-installed.sh).
# Then the Debian package: built with cpack, installed with apt-get on this
# machine, used (poblysh --version, man -w, completions, pkg-config,
# find_package) and removed again (scripts/package.sh).
# A SQLite session of the command line under valgrind (scripts/valgrind.sh).
if [ "$build_dir" = build ]; then
  bash scripts/valgrind.sh
  bash scripts/with-postgres.sh bash scripts/test-installed.sh
  bash scripts/package.sh
fi
