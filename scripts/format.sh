#!/usr/bin/env bash
# format.sh: the project's C style (.clang-format), enforced. With --check
# (what .ci/run runs) it changes nothing and fails naming every file that
# clang-format would change; without it, it formats them in place.
# Installs clang-format when missing (scripts/deps.sh format).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh format
mapfile -t files < <(git ls-files '*.c' '*.h')
case "${1:-}" in
  --check)
    if ! clang-format --dry-run --Werror "${files[@]}"; then
      echo "format.sh: the files above are not formatted: run scripts/format.sh" >&2
      exit 1
    fi
    echo "format.sh: ${#files[@]} C files formatted as .clang-format says" ;;
  "") clang-format -i "${files[@]}" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
