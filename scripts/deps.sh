#!/usr/bin/env bash
# deps.sh: installs the Debian packages a fresh machine lacks, and nothing
# else. `deps.sh build` for building the CLI, `deps.sh test` for the tests too,
# `deps.sh bench` for the benchmark (scripts/bench.sh: the sqlite3 shell and
# PostgreSQL, whose psql is the baseline; MariaDB's server and client; npm, to
# install the peer dbmate from the npm registry), `deps.sh format` for
# scripts/format.sh (clang-format), `deps.sh package` for scripts/package.sh
# (the build packages plus libdbi, so the .deb always has the libdbi driver;
# dpkg-dev and file, with which cpack computes the package's Depends; man-db,
# to prove the installed man pages are found).
set -euo pipefail

build_pkgs=(cmake gcc make pkg-config libsqlite3-dev libpq-dev libssl-dev libjansson-dev libinih-dev)
# groff-base and zsh: test_manpages formats the man pages and parses the zsh completion.
# pgbouncer: scripts/with-pgbouncer.sh puts it in front of the throwaway PostgreSQL.
test_pkgs=(libcmocka-dev valgrind clang postgresql libdbi-dev libdbd-mysql libdbd-pgsql libdbd-sqlite3 mariadb-server
           groff-base zsh pgbouncer)
bench_pkgs=(sqlite3 postgresql mariadb-server mariadb-client)
# npm only when there is none: a Node.js that brings its own npm (NodeSource's
# nodejs) conflicts with Debian's npm package.
command -v npm >/dev/null || bench_pkgs+=(npm)
format_pkgs=(clang-format)
package_pkgs=(libdbi-dev dpkg-dev file man-db)

case "${1:-build}" in
  build) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  format) wanted=("${format_pkgs[@]}") ;;
  package) wanted=("${build_pkgs[@]}" "${package_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|format|package]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "install ok installed" >/dev/null; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
