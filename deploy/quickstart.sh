#!/usr/bin/env bash
# README command (1): install dependencies, build, and run sinkholed in the foreground on
# the bundled example config (127.0.0.1:5353 and [::1]:5353). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSINKHOLE_TESTS=OFF
cmake --build build -j2 --target sinkholed
exec ./build/resolver/sinkholed --config deploy/examples/sinkholed.yaml "$@"
