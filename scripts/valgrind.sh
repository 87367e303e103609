#!/usr/bin/env bash
# valgrind.sh: a whole SQLite session of the command line under valgrind
# (memcheck, leaks included): up, status (text and JSON), schema, down,
# verify, a dry run, and the standalone poblysh over an SQL folder. Any
# memory error or leak fails it (--error-exitcode). Uses the build/ of
# scripts/test.sh; run by .ci/run after it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
seed=$PWD/build/migrations/poblysh-seed
standalone=$PWD/build/cli/poblysh
[ -x "$seed" ] && [ -x "$standalone" ] || { echo "valgrind.sh: run scripts/test.sh first (build/)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
  --errors-for-leak-kinds=definite,indirect)
url=sqlite://$work/session.db
mkdir sql
printf -- '-- migrate:up\nCREATE TABLE notes (id INTEGER);\n-- migrate:down\nDROP TABLE notes;\n' \
  >sql/20250101000000_create_notes.sql
failed=0
check() {
  local rc=0
  "${vg[@]}" "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" -eq 99 ] || grep -q "==[0-9]*==" "$work/err"; then
    echo "valgrind.sh: FAIL: $*" >&2
    cat "$work/err" >&2
    failed=1
  else
    echo "valgrind.sh: ok (exit $rc): ${*#$PWD/}"
  fi
}
check "$seed" migrate up --database-url "$url"
check "$seed" migrate status --database-url "$url"
check "$seed" migrate status --format json --database-url "$url"
check "$seed" migrate schema --database-url "$url"
check "$seed" migrate down --dry-run --database-url "$url"
check "$seed" migrate down --database-url "$url"
check "$seed" migrate verify
check "$seed" migrate up --bogus
check "$standalone" --source sql migrate up --database-url "sqlite://$work/folder.db"
check "$standalone" migrate status
exit "$failed"
