#!/usr/bin/env bash
# quickstart.sh: README command 1. Installs what is missing, builds the CLI,
# and runs the main job on the embedded default: this repository's service
# command (poblysh-seed, its own set compiled in) migrates the local profile's
# SQLite file (./poblysh.db) and prints the status.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh build
cmake -S . -B build -DPOBLYSH_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build --target poblysh-seed -j"$(nproc)" >/dev/null

# The embedded default: profile local, no URL, so sqlite://poblysh.db here.
export POBLYSH_PROFILE=local
unset POBLYSH_DATABASE_URL
./build/migrations/poblysh-seed migrate up
./build/migrations/poblysh-seed migrate status
