#!/usr/bin/env bash
# README command (1): install dependencies, build, and run sinkholed in the foreground on
# the bundled example config (127.0.0.1:5353 and [::1]:5353, a demo gambling list, metrics
# on 127.0.0.1:9153, control socket /run/sinkholed/control.sock). Ctrl-C stops it.
# Optional environment (defaults are what a user gets):
#   SINKHOLE_BUILD_DIR  build directory, relative to the repository (default: build)
#   SINKHOLED_CONFIG    configuration to run (default: deploy/examples/sinkholed.yaml)
# Arguments are passed on to sinkholed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SINKHOLE_BUILD_DIR:-build}
config=${SINKHOLED_CONFIG:-deploy/examples/sinkholed.yaml}
bash deploy/install-deps.sh
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSINKHOLE_TESTS=OFF "${launcher[@]}"
# sinkholectl too: README "First steps" asks the running server for its status.
cmake --build "$build" -j2 --target sinkholed sinkholectl
case $build in /*) ;; *) build="./$build" ;; esac
echo "quickstart: sinkholectl is $build/resolver/programs/sinkholectl"
echo "quickstart: starting $build/resolver/programs/sinkholed --config $config"
exec "$build/resolver/programs/sinkholed" --config "$config" "$@"
