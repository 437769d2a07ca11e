#!/usr/bin/env bash
# Runs every libFuzzer target of a SINKHOLE_FUZZ build over its seed corpus for a bounded
# time and fails on any crash, leak, timeout or out-of-memory.
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
# With FUZZ_RUNS=N, each target stops after N executions instead (SECONDS_PER_TARGET is
# then only a ceiling): the long local run is FUZZ_RUNS=10000000 with a large ceiling.
# New inputs go to BUILD_DIR/fuzz/corpus/<target>/ (kept between runs, never into the
# repository), crashing inputs to BUILD_DIR/fuzz/artifacts/, each run's log to
# BUILD_DIR/fuzz/logs/<target>.log (FUZZ_LOG_DIR to put them elsewhere). Prints one line
# per target: executions, executions per second, inputs that found new coverage, outcome.
# An input slower than FUZZ_TIMEOUT seconds (default 30: generous, so that a loaded
# machine is not taken for a hang) is a failure.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET [TARGET...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$t" ] && targets+=("$(basename "$t")")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "run_fuzz: no fuzz targets in $build/tests/fuzz (configure with -DSINKHOLE_FUZZ=ON)" >&2
  exit 2
fi

work=$build/fuzz
logs=${FUZZ_LOG_DIR:-$work/logs}
mkdir -p "$work/artifacts" "$logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-26s %12s %9s %6s  %s\n' target executions exec/s new outcome
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  seeds=$here/corpus/$t
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "run_fuzz: $t: no binary at $bin or no seeds at $seeds" >&2
    failed+=("$t")
    continue
  fi
  mkdir -p "$work/corpus/$t"
  before=$(find "$work/corpus/$t" -type f | wc -l)
  log=$logs/$t.log
  args=(-max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/artifacts/$t-")
  if [ -n "${FUZZ_RUNS:-}" ]; then args+=(-runs="$FUZZ_RUNS"); fi
  t0=$(date +%s%N)
  "$bin" "${args[@]}" "$work/corpus/$t" "$seeds" >"$log" 2>&1
  status=$?
  elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  rate=$((execs * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1)))
  new=$(($(find "$work/corpus/$t" -type f | wc -l) - before))
  outcome=ok
  if [ "$status" -ne 0 ]; then
    outcome="FAILED (exit $status): $(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*FUZZ_CHECK failed|.*runtime error)' "$log")"
    failed+=("$t")
  fi
  printf '%-26s %12s %9s %6s  %s\n' "$t" "$execs" "$rate" "$new" "$outcome"
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "run_fuzz: FAILED: ${failed[*]} (logs in $logs, inputs in $work/artifacts)"
  exit 1
fi
echo "run_fuzz: ${#targets[@]} targets, no crash, leak or timeout"
