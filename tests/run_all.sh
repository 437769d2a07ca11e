#!/usr/bin/env bash
# README command (2), what .ci/run runs: install dependencies, then
#   1. RelWithDebInfo (build/): every test (unit, integration, packaging);
#   2. README command (1) end to end (tests/quickstart/test_quickstart.sh: a Release build
#      with -Werror in build-quickstart/, queries, sinkholectl, Ctrl-C);
#   3. ASan+UBSan (build-asan/): every test but packaging;
#   4. ThreadSanitizer (build-tsan/): every test but packaging and the load-driving fault
#      tests (label fault-load; reloads and file watching
#      under load, metrics scraped under load, dnstap's I/O thread, the shared cache,
#      shutdown with queries in flight, watchdog heartbeats). Reports go to
#      build-tsan/tsan/; any report fails the run;
#   5. libFuzzer (build-fuzz/, clang, ASan+UBSan): every fuzz target of tests/fuzz/ for
#      FUZZ_SECONDS (default 10) each over its seed corpus; any crash, leak or timeout fails.
# Every phase runs even when an earlier one failed (a variant's tests are skipped when its
# build failed), so one run shows every failure. Prints the wall time of each phase and
# exits non-zero if any phase failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
jobs=${JOBS:-2}
ci_start=$SECONDS
timings=()
failed=()

phase() {  # phase NAME COMMAND...: runs it, records its wall time and outcome
  local name=$1 t0=$SECONDS status
  shift
  echo "=== run_all: $name"
  "$@"
  status=$?
  local outcome=ok
  if [ "$status" -ne 0 ]; then
    outcome="FAILED ($status)"
    failed+=("$name")
  fi
  timings+=("$(printf '%-24s %5d s  %s' "$name" $((SECONDS - t0)) "$outcome")")
  echo "=== run_all: $name: $outcome, $((SECONDS - t0)) s"
  return "$status"
}

skipped() {  # skipped NAME: a test phase whose build failed
  timings+=("$(printf '%-24s %5s    %s' "$1" - "skipped (build failed)")")
  failed+=("$1")
}

report() {
  echo "=== run_all: wall time per phase"
  for t in "${timings[@]}"; do echo "    $t"; done
  echo "    $(printf '%-24s %5d s' total $((SECONDS - ci_start)))"
}
trap report EXIT

if ! phase "install dependencies" bash deploy/install-deps.sh; then
  echo "run_all: cannot install dependencies; nothing else can run" >&2
  exit 1
fi

cmake_args=(-G Ninja)
if command -v ccache >/dev/null 2>&1; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # A fresh clone elsewhere, or another build directory, still hits the cache: hash paths
  # relative to the clone (the debug info's build directory is the only thing that differs).
  export CCACHE_BASEDIR=$repo CCACHE_NOHASHDIR=1
fi

build() {  # build DIR CMAKE-ARGS...
  local dir=$1
  shift
  cmake -S . -B "$dir" "${cmake_args[@]}" "$@" && cmake --build "$dir" -j"$jobs"
}

# 1. The normal variant.
if phase "build RelWithDebInfo" build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  phase "test RelWithDebInfo" bash -c "cd build && ctest --output-on-failure -j$jobs"
else
  skipped "test RelWithDebInfo"
fi

# 2. README command (1) as a newcomer runs it (it builds its own Release variant).
phase "quickstart (Release)" bash tests/quickstart/test_quickstart.sh

# 3. ASan + UBSan.
if phase "build ASan+UBSan" build build-asan -DCMAKE_BUILD_TYPE=Debug -DSINKHOLE_SANITIZE=ON \
  -DSINKHOLE_PERF=OFF; then
  phase "test ASan+UBSan" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    bash -c "cd build-asan && ctest --output-on-failure -j$jobs -LE packaging"
else
  skipped "test ASan+UBSan"
fi

# 4. ThreadSanitizer. -O2 -g: TSan at -O0 is several times slower, and the integration
# tests run the daemon under load. libuv, yaml-cpp, Hyperscan, libmicrohttpd, fstrm and
# protobuf-c are not instrumented; tests/tsan.supp holds the only suppressions, each
# saying why. Every integration test runs (about 80 s in all under TSan), not only the
# threaded ones: each starts the multi-threaded daemon. Reports go to files, so that a
# race in a daemon a test merely stops (and whose exit status it does not read) still
# fails the run.
tsan_test() {
  rm -rf build-tsan/tsan && mkdir -p build-tsan/tsan
  local status=0
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$repo/tests/tsan.supp:log_path=$repo/build-tsan/tsan/report"
  (cd build-tsan && ctest --output-on-failure -j"$jobs" -LE 'packaging|fault-load') || status=1
  if compgen -G 'build-tsan/tsan/report*' >/dev/null; then
    echo "run_all: ThreadSanitizer reports:"
    cat build-tsan/tsan/report*
    status=1
  fi
  return $status
}
if phase "build TSan" build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSINKHOLE_TSAN=ON \
  -DSINKHOLE_PERF=OFF; then
  phase "test TSan" tsan_test
else
  skipped "test TSan"
fi

# 5. libFuzzer: the parsers of untrusted input (queries, upstream answers, lists, the
# configuration, control requests, /explain) for a short bounded time each; the long run
# is local (tests/fuzz/README.md). Not tests nor benchmarks: a fuzz build has neither.
if phase "build fuzz" build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSINKHOLE_FUZZ=ON; then
  phase "fuzz (short)" bash tests/fuzz/run_fuzz.sh build-fuzz "${FUZZ_SECONDS:-10}"
else
  skipped "fuzz (short)"
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "run_all: FAILED: ${failed[*]}"
  exit 1
fi
echo "run_all: every test passed in every variant"
