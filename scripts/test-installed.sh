#!/usr/bin/env bash
# test-installed.sh: proves what `cmake --install` gives an outside project,
# using only the install prefix (never this source tree's headers or build):
#   - the prefix holds libraries, headers, tools, package files, no objects;
#   - the standalone poblysh manages no set of its own: without --source it
#     exits 2 with guidance and touches no database; with --source it works;
#   - examples/service builds with find_package(poblysh) and with plain make
#     + pkg-config, migrates a SQLite file and a PostgreSQL database, and its
#     status lists exactly its own two migrations;
#   - every C example of README.md, docs/testing.md and docs/fleet.md that is a whole file
#     (starts with #include) compiles, links and runs against the prefix.
# Run by scripts/test.sh under scripts/with-postgres.sh, which provides
# POBLYSH_TEST_PG_URL and POBLYSH_TEST_PG_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

: "${POBLYSH_TEST_PG_URL:?run me under scripts/with-postgres.sh}"
: "${POBLYSH_TEST_PG_BIN:?run me under scripts/with-postgres.sh}"

work=$(mktemp -d /tmp/poblysh-installed.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
failures=0

fail() {
  echo "test-installed.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "test-installed.sh: ok: $*"; }
die() {
  echo "test-installed.sh: FAIL: $*" >&2
  exit 1
}

# Runs "$@" and stores its exit code, stdout and stderr in rc, out and err.
run() {
  set +e
  out=$("$@" 2>"$work/stderr")
  rc=$?
  set -e
  err=$(cat "$work/stderr")
}

# A PostgreSQL URL for database $1 on the test server.
pg_url_for() { echo "${POBLYSH_TEST_PG_URL%/*}/$1"; }
psql_url() { "$POBLYSH_TEST_PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

# ---- build and install ------------------------------------------------------
cmake -S . -B build-install -DBUILD_TESTING=OFF -DPOBLYSH_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-install -j"$(nproc)" >/dev/null
cmake --install build-install --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
version=$(pkg-config --modversion poblysh) || die "pkg-config does not find poblysh.pc in $prefix"

# ---- what the prefix holds --------------------------------------------------
for f in bin/poblysh lib/libpoblysh.a "lib/libpoblysh.so.$version" lib/libpoblysh.so \
  libexec/poblysh/pm_checksums libexec/poblysh/pm_embed_sql include/poblysh/poblysh.h \
  include/poblysh/cli.h include/poblysh/fleet.h include/poblysh/migrations.h include/poblysh/version.h \
  lib/pkgconfig/poblysh.pc lib/cmake/poblysh/poblyshConfig.cmake \
  lib/cmake/poblysh/poblyshMigrations.cmake lib/cmake/poblysh/pm_registry.c; do
  [ -e "$prefix/$f" ] || fail "the prefix lacks $f"
done
objects=$(find "$prefix" -name '*.o' | wc -l)
[ "$objects" -eq 0 ] || fail "$objects object files installed"
soname=$(objdump -p "$prefix/lib/libpoblysh.so" | awk '/SONAME/ {print $2}')
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
expected_soname=libpoblysh.so.$major
[ "$major" = 0 ] && expected_soname=libpoblysh.so.0.$minor
[ "$soname" = "$expected_soname" ] || fail "SONAME is '$soname', not $expected_soname"
internal=$(nm -D --defined-only "$prefix/lib/libpoblysh.so" | awk '{print $3}' | grep -c '^pm__' || true)
[ "$internal" -eq 0 ] || fail "libpoblysh.so exports $internal internal pm__ symbols"
run "$prefix/bin/poblysh" --version
[ "$rc" -eq 0 ] && [ "$out" = "poblysh $version" ] || fail "poblysh --version printed '$out' (exit $rc)"
pass "the prefix holds libpoblysh $version (SONAME $soname), tools, headers, package files"

# Using the installed package needs no other package's development files:
# pkg-config sees only the prefix, and find_package(poblysh) works with
# OpenSSL, SQLite3 and pkg-config out of CMake's reach.
PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config --cflags --libs poblysh >/dev/null 2>"$work/pc.err" ||
  fail "pkg-config poblysh needs other packages' .pc files: $(cat "$work/pc.err")"
mkdir -p "$work/bare"
cat >"$work/bare/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.24)
project(bare LANGUAGES C)
find_package(poblysh REQUIRED)
add_executable(bare main.c)
target_link_libraries(bare PRIVATE poblysh::poblysh)
EOF
printf '#include "poblysh/poblysh.h"\nint main(void) { return pm_version()[0] ? 0 : 1; }\n' >"$work/bare/main.c"
if cmake -S "$work/bare" -B "$work/bare/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON >"$work/bare.log" 2>&1 &&
  cmake --build "$work/bare/build" >>"$work/bare.log" 2>&1 && "$work/bare/build/bare"; then
  pass "the package needs no other package's development files (pkg-config, find_package)"
else
  fail "find_package(poblysh) needs other packages' CMake files:"$'\n'"$(tail -20 "$work/bare.log")"
fi

# ---- the standalone poblysh -------------------------------------------------
mkdir "$work/empty"
cd "$work/empty"
run env -u POBLYSH_DATABASE_URL -u POBLYSH_MIGRATIONS_DIR POBLYSH_PROFILE=local \
  "$prefix/bin/poblysh" migrate up
[ "$rc" -eq 2 ] || fail "standalone poblysh without a source exited $rc, not 2"
grep -q "no migrations to manage" <<<"$err" || fail "no guidance without a source: $err"
grep -q -- "--source DIR" <<<"$err" || fail "the guidance does not name --source: $err"
[ -z "$(ls -A)" ] || fail "standalone poblysh without a source created $(ls -A)"
psql_url "$POBLYSH_TEST_PG_URL" -c "CREATE DATABASE standalone_untouched"
run env -u POBLYSH_MIGRATIONS_DIR "$prefix/bin/poblysh" migrate up \
  --database-url "$(pg_url_for standalone_untouched)"
[ "$rc" -eq 2 ] || fail "standalone poblysh on PostgreSQL without a source exited $rc"
tables=$(psql_url "$(pg_url_for standalone_untouched)" -c \
  "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
[ "$tables" = "0" ] || fail "standalone poblysh without a source created $tables table(s)"
mkdir "$work/sql"
printf -- '-- migrate:up\nCREATE TABLE notes (id INTEGER);\n-- migrate:down\nDROP TABLE notes;\n' \
  >"$work/sql/20250101000000_create_notes.sql"
run "$prefix/bin/poblysh" --source "$work/sql" migrate up --database-url "sqlite://$work/standalone.db"
[ "$rc" -eq 0 ] || fail "standalone poblysh --source exited $rc: $err"
cd "$root"
pass "standalone poblysh: exit 2 and nothing touched without a source; --source migrates"

# ---- the example service, both ways ------------------------------------------
cmake -S examples/service -B "$work/widgets-cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null ||
  die "examples/service does not configure with find_package(poblysh)"
cmake --build "$work/widgets-cmake" >/dev/null || die "examples/service does not build with CMake"
make -s -C examples/service O="$work/widgets-make" >/dev/null ||
  die "examples/service does not build with make + pkg-config"
expected=$'m2025_01_15_000000_create_widgets\nm2025_02_01_000000_index_widget_names'

# Migrates url with binary and checks that status lists exactly the two.
check_widgets() {
  local binary=$1 url=$2 what=$3
  run "$binary" migrate up --database-url "$url"
  [ "$rc" -eq 0 ] || { fail "$what: migrate up exited $rc: $err"; return; }
  run "$binary" migrate status --database-url "$url"
  [ "$rc" -eq 0 ] || { fail "$what: migrate status exited $rc: $err"; return; }
  local listed
  listed=$(grep -E '^m[0-9]' <<<"$out" | awk '{print $1 " " $2}')
  if [ "$listed" != "$(sed 's/$/ applied/' <<<"$expected")" ]; then
    fail "$what: status lists other than its own two migrations:"$'\n'"$out"
    return
  fi
  pass "$what: up, then status lists exactly its 2 migrations, applied"
}
for way in cmake make; do
  binary=$work/widgets-$way/widgets
  check_widgets "$binary" "sqlite://$work/widgets-$way.db" "widgets ($way), SQLite file"
  psql_url "$POBLYSH_TEST_PG_URL" -c "CREATE DATABASE widgets_$way"
  check_widgets "$binary" "$(pg_url_for "widgets_$way")" "widgets ($way), PostgreSQL"
  # Startup with options: production refuses pending migrations and names
  # the service's own command; local migrates the service's own URL setting.
  run env POBLYSH_PROFILE=production WIDGETS_DATABASE_URL="sqlite://$work/prod-$way.db" \
    "$binary" serve
  if [ "$rc" -ne 0 ] && grep -q "m2025_01_15_000000_create_widgets (pending)" <<<"$err" &&
    grep -q "widgets migrate up" <<<"$err" && ! grep -q "poblysh migrate" <<<"$err"; then
    pass "widgets ($way) serve under production refuses pending migrations, naming widgets migrate"
  else
    fail "widgets ($way) serve under production: exit $rc: $out $err"
  fi
  run env POBLYSH_PROFILE=local WIDGETS_DATABASE_URL="sqlite://$work/local-$way.db" "$binary" serve
  if [ "$rc" -eq 0 ] && grep -q "ready on sqlite://$work/local-$way.db" <<<"$out"; then
    run "$binary" migrate status --database-url "sqlite://$work/local-$way.db"
    grep -q "2 applied, 0 pending" <<<"$out" ||
      fail "widgets ($way) serve under local did not apply both migrations: $out"
  else
    fail "widgets ($way) serve under local: exit $rc: $out $err"
  fi
  # Not grep -q: it would stop reading at the first match, and ldd, killed by
  # SIGPIPE, would fail the pipeline (pipefail).
  ldd "$binary" | grep "$prefix/lib.*$expected_soname" >/dev/null ||
    fail "widgets ($way) does not link the installed shared libpoblysh"
done

# ---- poblysh_add_migrations() as projects use it ------------------------------
# Two executables with different sets in one project; a set held by a static
# library that an executable links with target_link_libraries' plain
# signature; a set of SQL files only, built with -Wpedantic -Werror.
edge=$work/edge
mkdir -p "$edge/a" "$edge/b" "$edge/sql"
# Set b carries SeaORM's generator style (mYYYYMMDD_HHMMSS_name).
for set in a b; do
  name=m2025_03_01_000000_create_$set
  [ "$set" = b ] && name=m20250301_000000_create_b
  printf 'PM_REGISTER(%s)\n' "$name" >"$edge/$set/registry.def"
  cat >"$edge/$set/$name.c" <<EOF
#include "poblysh/poblysh.h"
static int up(pm_schema *s, const void *d) { (void)d; return pm_schema_exec(s, "CREATE TABLE t_$set (id INTEGER)"); }
static int down(pm_schema *s, const void *d) { (void)d; return pm_schema_drop_table(s, "t_$set", 0); }
PM_MIGRATION($name, up, down, PM_MIGRATION_DEFAULT);
EOF
done
printf '/* no C migrations */\n' >"$edge/sql/registry.def"
printf -- '-- migrate:up\nCREATE TABLE t_sql (id INTEGER);\n-- migrate:down\nDROP TABLE t_sql;\n' \
  >"$edge/sql/m2025_03_02_000000_create_sql.sql"
cat >"$edge/main.c" <<'EOF'
#include "poblysh/cli.h"
#include "poblysh/migrations.h"
int main(int argc, char **argv)
{
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    return pm_cli_main(argc, argv, set, count);
}
EOF
cat >"$edge/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.24)
project(edge LANGUAGES C)
set(CMAKE_C_STANDARD 11)
add_compile_options(-Wall -Wextra -Wpedantic -Werror)
find_package(poblysh REQUIRED)
add_executable(alpha main.c)
poblysh_add_migrations(alpha REGISTRY a/registry.def)
add_library(beta_set STATIC)
poblysh_add_migrations(beta_set REGISTRY b/registry.def)
add_executable(beta main.c)
target_link_libraries(beta beta_set)
add_executable(gamma main.c)
target_link_libraries(gamma m)
poblysh_add_migrations(gamma REGISTRY sql/registry.def SQL_DIR sql)
EOF
if cmake -S "$edge" -B "$edge/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/edge.log" 2>&1 &&
  cmake --build "$edge/build" >>"$work/edge.log" 2>&1; then
  for pair in alpha:create_a beta:create_b gamma:create_sql; do
    exe=${pair%%:*}
    run "$edge/build/$exe" migrate up --database-url "sqlite://$work/edge-$exe.db"
    run "$edge/build/$exe" migrate status --database-url "sqlite://$work/edge-$exe.db"
    listed=$(grep -cE '^m[0-9]' <<<"$out" || true)
    if [ "$listed" = 1 ] && grep -q "_${pair#*:} *applied" <<<"$out"; then
      pass "$exe (one of three sets in one project) manages exactly its own migration"
    else
      fail "$exe does not manage exactly its own set:"$'\n'"$out$err"
    fi
  done
else
  fail "a project with three sets does not build:"$'\n'"$(tail -20 "$work/edge.log")"
fi
printf 'PM_REGISTER(m2025_03_01_000000_create_a)\nPM_REGISTER(bad_name)\n' >"$edge/a/registry.def"
if cmake -S "$edge" -B "$edge/build" >"$work/edge.log" 2>&1; then
  fail "a registry line with an invalid name configured"
elif tr -s ' \n' ' ' <"$work/edge.log" | grep 'a/registry.def:2: "bad_name" is not a migration name' >/dev/null; then
  pass "an invalid registry line stops CMake, naming the file and line"
else
  fail "an invalid registry line gives no clear message:"$'\n'"$(tail -10 "$work/edge.log")"
fi

# ---- the C examples of the docs ---------------------------------------------
# Each ```c block that starts with #include is a whole file: compiled with
# pkg-config's flags, linked with this repository's migration set built from
# the prefix's tools (as examples/service/Makefile does), and run under the
# test profile.
docs_set=$work/docs-set
mkdir -p "$docs_set"
registry=$root/migrations/registry.def
c_migrations=$(grep -o '^PM_REGISTER([a-z0-9_]*)' "$registry" | sed 's/PM_REGISTER(\(.*\))/\1/')
sources=()
for m in $c_migrations; do sources+=("$root/migrations/$m.c"); done
sql=()
for f in "$root"/migrations/m*.sql; do [ -e "$f" ] && sql+=("$f"); done
tools=$(pkg-config --variable=toolsdir poblysh)
cflags=$(pkg-config --cflags poblysh)
"$tools/pm_checksums" "$docs_set/checksums.c" "${sources[@]}"
"$tools/pm_embed_sql" "$docs_set/embedded_sql.c" pm_embedded_migrations "${sql[@]}"
for f in "${sources[@]}" "$docs_set/checksums.c" "$docs_set/embedded_sql.c"; do
  # shellcheck disable=SC2086
  cc -std=c11 -Wall -Wextra -Werror $cflags -c "$f" -o "$docs_set/$(basename "$f" .c).o"
done
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $cflags -DPM_REGISTRY_FILE="\"$registry\"" \
  -c "$(pkg-config --variable=registry_source poblysh)" -o "$docs_set/registry.o"

examples=0
mkdir -p "$work/doc"
for doc in README.md docs/testing.md docs/fleet.md; do
  awk -v dir="$work/doc" -v name="$(basename "$doc" .md)" '
    /^```c$/ { inside = 1; n++; file = sprintf("%s/%s-%d.c", dir, name, n); first = 1; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { if (first && $0 !~ /^#include/) { inside = 0; next } first = 0; print > file }
  ' "$doc"
done
for file in "$work"/doc/*.c; do
  [ -e "$file" ] || continue
  examples=$((examples + 1))
  name=$(basename "$file" .c)
  extra=()
  grep -q '<cmocka.h>' "$file" && extra+=(-lcmocka)
  grep -q '<sqlite3.h>' "$file" && extra+=(-lsqlite3)
  # shellcheck disable=SC2207
  grep -q '<libpq-fe.h>' "$file" && extra+=($(pkg-config --cflags --libs libpq))
  # A file without main() is a unit of a service: compiled, not linked.
  if ! grep -q '^int main(' "$file"; then
    # shellcheck disable=SC2086
    if cc -std=c11 -Wall -Wextra -Werror $cflags "${extra[@]}" -c "$file" -o "$work/doc/$name.o" \
      2>"$work/cc.log"; then
      pass "the C example $name compiles outside the tree"
    else
      fail "the C example $name (from ${name%-*}.md) does not compile outside the tree:"$'\n'"$(cat "$work/cc.log")"
    fi
    continue
  fi
  # shellcheck disable=SC2086
  if ! cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L $cflags "$file" \
    "$docs_set"/*.o -o "$work/doc/$name" $(pkg-config --libs poblysh) "${extra[@]}" -pthread \
    -Wl,-rpath,"$prefix/lib" 2>"$work/cc.log"; then
    fail "the C example $name (from ${name%-*}.md) does not build outside the tree:"$'\n'"$(cat "$work/cc.log")"
    continue
  fi
  mkdir -p "$work/run-$name"
  if (cd "$work/run-$name" && env -u POBLYSH_DATABASE_URL POBLYSH_PROFILE=test \
    "$work/doc/$name" >"$work/run.log" 2>&1); then
    pass "the C example $name builds outside the tree and runs"
  else
    fail "the C example $name exits non-zero:"$'\n'"$(cat "$work/run.log")"
  fi
done
[ "$examples" -ge 5 ] || fail "found only $examples whole C examples in README.md, docs/testing.md and docs/fleet.md"

if [ "$failures" -ne 0 ]; then
  echo "test-installed.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "test-installed.sh: every check passed"
