#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets of tests/fuzz/ with clang into
# build-fuzz/ (AddressSanitizer + UndefinedBehaviorSanitizer) and runs each
# for SECONDS (default 60) from its checked-in seed corpus. New inputs go to a
# scratch folder, never into the tree. A crash, leak or sanitizer report
# fails the run and leaves the reproducer in build-fuzz/fuzz-artifacts/.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

bash scripts/deps.sh test
command -v clang >/dev/null || { echo "fuzz.sh: clang is missing" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DPOBLYSH_FUZZ=ON -DBUILD_TESTING=OFF -DPOBLYSH_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

artifacts=$PWD/build-fuzz/fuzz-artifacts
mkdir -p "$artifacts"
failed=0
while read -r name; do
  [ -n "$name" ] || continue
  scratch=$(mktemp -d)
  echo "fuzz.sh: fuzz_$name for ${seconds}s"
  if ! ./build-fuzz/tests/fuzz/fuzz_"$name" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
    "$scratch" "tests/fuzz/corpus/$name" >"build-fuzz/fuzz-$name.log" 2>&1; then
    echo "fuzz.sh: fuzz_$name FAILED; its log:" >&2
    tail -40 "build-fuzz/fuzz-$name.log" >&2
    failed=1
  else
    grep -E "stat::number_of_executed_units" "build-fuzz/fuzz-$name.log" | sed "s/^/fuzz.sh: fuzz_$name: /"
  fi
  rm -rf "$scratch"
done <build-fuzz/tests/fuzz/fuzzers.txt
exit "$failed"
