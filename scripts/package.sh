#!/usr/bin/env bash
# package.sh: builds the Debian package (a release build in build-pkg/,
# installed under /usr, then `cpack -G DEB`) and proves it on this machine:
# what the .deb holds, its control fields, then installing it with apt-get and
# using what it installed (poblysh --version, man -w, the completions,
# pkg-config, find_package). The package is removed again on every way out, so
# the machine is left as it was. Exits non-zero, saying why, on any failure.
# Installs what it needs with scripts/deps.sh package; needs root or sudo.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

build_dir=build-pkg

# ==== What the .deb must hold ==================================================
# Extended regexes over the paths `dpkg-deb -c` lists (./usr/...).
required=(
  '^\./usr/bin/poblysh$'
  '^\./usr/share/man/man1/poblysh\.1(\.gz)?$'
  '^\./usr/share/man/man1/poblysh-migrate\.1(\.gz)?$'
  '^\./usr/share/bash-completion/completions/poblysh$'
  '^\./usr/share/zsh/vendor-completions/_poblysh$'
  '^\./usr/include/poblysh/poblysh\.h$'
  '^\./usr/include/poblysh/cli\.h$'
  '^\./usr/include/poblysh/migrations\.h$'
  '^\./usr/include/poblysh/version\.h$'
  '^\./usr/include/poblysh/sys/driver\.h$'
  '^\./usr/include/poblysh/sys/backend\.h$'
  '^\./usr/lib/([^/]+/)?libpoblysh\.so\.[0-9]+(\.[0-9]+)*$'
  '^\./usr/lib/([^/]+/)?libpoblysh\.so$'
  '^\./usr/lib/([^/]+/)?libpoblysh\.a$'
  '^\./usr/libexec/poblysh/pm_checksums$'
  '^\./usr/libexec/poblysh/pm_embed_sql$'
  '^\./usr/lib/([^/]+/)?pkgconfig/poblysh\.pc$'
  '^\./usr/lib/([^/]+/)?cmake/poblysh/poblyshConfig\.cmake$'
  '^\./usr/lib/([^/]+/)?cmake/poblysh/poblyshConfigVersion\.cmake$'
  '^\./usr/lib/([^/]+/)?cmake/poblysh/poblyshTargets\.cmake$'
  '^\./usr/lib/([^/]+/)?cmake/poblysh/poblyshMigrations\.cmake$'
  '^\./usr/lib/([^/]+/)?cmake/poblysh/pm_registry\.c$'
)
# None of these may be installed: object files, the tests, this repository's
# own migration set or its service command.
forbidden=(
  '\.o$'
  '/poblysh-objects/'
  '/poblysh-seed$'
  '/test_[a-z_]+$'
)

# ==== Helpers ==================================================================

say() { echo "package.sh: $*"; }
warn() { echo "package.sh: WARNING: $*" >&2; warnings=$((warnings + 1)); }
fail() { echo "package.sh: FAILED: $*" >&2; exit 1; }
warnings=0
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "needs root or sudo to install and remove the package"
  sudo="sudo"
fi
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; }
is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# ==== Build and package ========================================================

bash scripts/deps.sh package
is_installed poblysh &&
  fail "a poblysh package is already installed ($(dpkg-query -W -f='${Version}' poblysh)); remove it first: this script installs its own and removes it afterwards"

say "building a release build in $build_dir"
cmake -S . -B "$build_dir" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr -DPOBLYSH_WITH_DBI=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)" >/dev/null
[ -f "$build_dir/CPackConfig.cmake" ] ||
  fail "$build_dir has no CPackConfig.cmake: the top-level CMakeLists.txt must end with include(cmake/pm_package.cmake)"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build_dir/CMakeCache.txt"
with_dbi=$(sed -n 's/^POBLYSH_WITH_DBI:BOOL=//p' "$build_dir/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb="$build_dir/poblysh_${version}_${arch}.deb"

rm -f "$build_dir"/poblysh_*.deb
say "cpack -G DEB"
(cd "$build_dir" && cpack -G DEB >cpack.log 2>&1) || fail "cpack -G DEB failed: $(cat "$build_dir/cpack.log")"
[ -f "$deb" ] || fail "cpack made no $deb (found: $(ls "$build_dir"/*.deb 2>/dev/null || echo nothing))"
say "made $deb"

# ==== What it holds ============================================================

listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
[ -n "$listing" ] || fail "dpkg-deb -c $deb lists nothing"
has() { grep -Eq "$1" <<<"$listing"; }
matching() { grep -E "$1" <<<"$listing" || true; }

missing=()
for re in "${required[@]}"; do
  has "$re" || missing+=("$re")
done
[ ${#missing[@]} -eq 0 ] || fail "$deb lacks: ${missing[*]}"
say "ok: the .deb holds the binary, both man pages, both completions, the headers, poblysh.pc and the CMake package"

for re in "${forbidden[@]}"; do
  mapfile -t found < <(matching "$re")
  [ ${#found[@]} -eq 0 ] || fail "$deb holds ${#found[@]} file(s) matching $re (e.g. ${found[0]})"
done
say "ok: the libraries (shared with its SONAME links, static) and the build tools; no objects, tests or sample set"

# ==== Its control fields =======================================================

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = poblysh ] || fail "Package is \"$(field Package)\", not poblysh"
[ "$(field Version)" = "$version" ] || fail "Version is \"$(field Version)\", not the project's $version"
depends=$(field Depends)
wanted_depends=(libsqlite3-0 libssl3 libjansson4 libinih1)
[ "$with_dbi" = ON ] && wanted_depends+=(libdbi1)
for d in "${wanted_depends[@]}"; do
  [[ ", $depends," == *", $d "* || ", $depends," == *", $d,"* ]] ||
    fail "Depends ($depends) lacks $d"
done
[[ "$(field Recommends)" == *libpq5* ]] || fail "Recommends ($(field Recommends)) lacks libpq5"
say "ok: Package poblysh, Version $version, Depends: $depends; Recommends: $(field Recommends)"

# ==== Installing it ============================================================

# dpkg drops files matching a path-exclude (Debian's and Ubuntu's minimal
# docker images exclude /usr/share/man): the man pages would not be installed.
man_excludes=$(grep -EHn '^[[:space:]]*path-exclude[[:space:]=]+/usr/share/man' \
  /etc/dpkg/dpkg.cfg.d/* 2>/dev/null || true)
if [ -n "$man_excludes" ]; then
  warn "dpkg on this machine does not install man pages: $(echo "$man_excludes" | tr '\n' ' ')"
fi

installed=""
cleanup() {
  local rc=$?
  trap - ERR EXIT
  if [ -n "$installed" ]; then
    say "removing the package again (apt-get remove -y poblysh)"
    if ! apt_get remove -y -qq poblysh >/dev/null || is_installed poblysh; then
      echo "package.sh: FAILED: could not remove poblysh: run apt-get remove poblysh" >&2
      rc=1
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT

mapfile -t before < <(dpkg-query -W -f='${Package}\n' | sort)
installed=yes
say "apt-get install ./$deb"
apt_get install -y -qq --no-install-recommends "$PWD/$deb" >/dev/null
is_installed poblysh || fail "apt-get install ran but dpkg does not list poblysh as installed"
mapfile -t pulled < <(comm -13 <(printf '%s\n' "${before[@]}") <(dpkg-query -W -f='${Package}\n' | sort) |
  grep -vx poblysh || true)
[ ${#pulled[@]} -eq 0 ] ||
  warn "installing pulled in ${pulled[*]}; they stay installed (apt-get remove them if unwanted)"

# ==== Using what it installed ==================================================

[ -x /usr/bin/poblysh ] || fail "/usr/bin/poblysh is not there after installing"
[ "$(command -v poblysh)" = /usr/bin/poblysh ] ||
  warn "poblysh on PATH is $(command -v poblysh), not /usr/bin/poblysh; checking /usr/bin/poblysh"
got=$(/usr/bin/poblysh --version)
[ "$got" = "poblysh $version" ] || fail "/usr/bin/poblysh --version printed \"$got\", not \"poblysh $version\""
say "ok: /usr/bin/poblysh --version: $got"
empty=$(mktemp -d)
rc=0
(cd "$empty" && env -u POBLYSH_MIGRATIONS_DIR -u POBLYSH_DATABASE_URL /usr/bin/poblysh migrate up \
  >/dev/null 2>"$empty.err") || rc=$?
[ "$rc" -eq 2 ] && grep -q "no migrations to manage" "$empty.err" && [ -z "$(ls -A "$empty")" ] ||
  fail "the installed poblysh without --source exited $rc (not 2 with guidance, nothing created): $(cat "$empty.err")"
rm -rf "$empty" "$empty.err"
say "ok: the installed poblysh manages no set of its own: exit 2 with guidance, nothing created"

for page in poblysh poblysh-migrate; do
  if [ ! -e "/usr/share/man/man1/$page.1" ] && [ ! -e "/usr/share/man/man1/$page.1.gz" ]; then
    if [ -n "$man_excludes" ]; then
      fail "/usr/share/man/man1/$page.1 was not installed because dpkg excludes /usr/share/man here ($(echo "$man_excludes" | head -1)); the .deb holds it (checked above). Remove that path-exclude line to prove the man pages on this machine"
    fi
    fail "/usr/share/man/man1/$page.1 was not installed, though the .deb holds it"
  fi
  where=$(man -w "$page") || fail "man -w $page found nothing"
  [[ "$where" == /usr/share/man/man1/$page.1* ]] || fail "man -w $page found $where, not the installed page"
  rendered=$(MANWIDTH=80 man -P cat "$page" 2>&1 >/dev/null) ||
    fail "man $page did not render: $rendered"
  say "ok: man -w $page: $where"
done

bash -c 'source /usr/share/bash-completion/completions/poblysh && complete -p poblysh' >/dev/null ||
  fail "sourcing the installed bash completion does not register a completion for poblysh"
say "ok: the installed bash completion registers poblysh"
if command -v zsh >/dev/null; then
  zsh -c 'print -l $fpath' | grep -x /usr/share/zsh/vendor-completions >/dev/null ||
    fail "zsh's fpath lacks /usr/share/zsh/vendor-completions, where _poblysh went"
  say "ok: _poblysh is in zsh's fpath (/usr/share/zsh/vendor-completions)"
else
  say "zsh is not installed: _poblysh is in the package, its fpath not checked"
fi

# The development half: the CMake package finds the installed version, and a
# program built with pkg-config's flags links libpoblysh and runs.
scratch=$(mktemp -d)
cat >"$scratch/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(poblysh REQUIRED)
message(STATUS "poblysh_VERSION=${poblysh_VERSION}")
EOF
found=$(cmake -S "$scratch" -B "$scratch/build" 2>&1 | sed -n 's/.*poblysh_VERSION=//p') ||
  fail "find_package(poblysh) failed against the installed package"
[ "$found" = "$version" ] || fail "find_package(poblysh) found version \"$found\", not $version"
say "ok: find_package(poblysh) finds version $found"

[ "$(pkg-config --modversion poblysh)" = "$version" ] ||
  fail "pkg-config --modversion poblysh is not $version"
cat >"$scratch/consumer.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <poblysh/poblysh.h>
int main(void)
{
    char *schemes = pm_db_known_schemes();
    printf("%s %s\n", PM_VERSION_STRING, schemes ? schemes : "?");
    free(schemes);
    return schemes ? 0 : 1;
}
EOF
pc_prefix=$(pkg-config --variable=prefix poblysh)
[ "$(realpath -m "$pc_prefix")" = /usr ] ||
  fail "the installed poblysh.pc resolves prefix to $(realpath -m "$pc_prefix"), not /usr"
# The usual way: the shared library, no --static.
if cc -o "$scratch/consumer" "$scratch/consumer.c" $(pkg-config --cflags --libs poblysh) \
  2>"$scratch/cc.err" && out=$("$scratch/consumer"); then
  say "ok: a program built with pkg-config --cflags --libs poblysh runs: $out"
else
  fail "a program built with pkg-config --cflags --libs poblysh does not build or run: $(cat "$scratch/cc.err")"
fi
# Not `ldd | grep -q`: grep -q exits at the first match, ldd then dies of
# SIGPIPE on its next line, and pipefail fails the check at random.
libs=$(ldd "$scratch/consumer")
grep -q 'libpoblysh\.so\.[0-9]' <<<"$libs" ||
  fail "a program built with pkg-config's flags does not load the shared libpoblysh"
rm -rf "$scratch"

say "all checks passed ($warnings warning(s) above); the package is removed next"
