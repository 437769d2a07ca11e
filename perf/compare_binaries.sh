#!/usr/bin/env bash
# Two sinkholed binaries (e.g. the previous commit's and the new one) side by side in the
# same ../shared/peers-bench run, as the custom peers sinkholed-old and sinkholed-new, with
# the same config (perf/peers_sinkholed.sh) per list size. Every round runs the reflector,
# both binaries (their order alternates per round, so machine drift hits both alike), then
# the reflector again.
#
#   perf/compare_binaries.sh [--rounds N] [--threads N] [--sizes "9k 1m"]
#                            [--workloads "blocked cached"] [--duration S] OLD NEW
#
# --threads as in perf/peers_bench.sh (1: one worker pinned to CPU 0, dnsperf on CPU 1).
# Prints summarize.py's median tables, then per size and workload the server CPU µs per
# answered query (srv_cpu_s / completed; median over rounds) of OLD and NEW with the ratio
# new/old (and the per-round paired ratios), and both QPS. Raw rows stay in
# $BENCH/results.tsv under the campaign name printed at the top.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 threads=1 sizes="9k 1m" workloads="blocked cached" duration=8
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --threads) threads=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --duration) duration=$2; shift ;;
    -h | --help) sed -n 2,15p "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done
[ ${#args[@]} -eq 2 ] || { sed -n 8,9p "$0" >&2; exit 2; }
old=$(realpath "${args[0]}") new=$(realpath "${args[1]}")
for b in "$old" "$new"; do [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 1; }; done

src=${PEERS_BENCH:-$here/../shared/peers-bench}
bench=${BENCH:-/tmp/sinkholed-peers-bench}
results=${RESULTS:-$bench/results.tsv}
. "$here/perf/bench_setup.sh"
bench_setup dnsperf:dnsperf bc:bc kdig:knot-dnsutils knotd:knot

cpu_opts=()
if [ "$threads" -gt 1 ]; then cpu_opts=(--srv-cpus 0-1 --cli-cpus 0-1); fi
campaign=binaries-t$threads-$(date +%Y%m%d-%H%M%S)
echo "campaign $campaign: $rounds round(s), $threads thread(s), sizes '$sizes', workloads '$workloads'"
echo "old: $old ($(sha256sum < "$old" | cut -c1-12))"
echo "new: $new ($(sha256sum < "$new" | cut -c1-12))"
common=(--threads "$threads" "${cpu_opts[@]}" --reps 1 --duration "$duration" --lat-rate 0
  --workloads "$workloads" --note "campaign=$campaign")
# One config per size, written before the rounds (see perf/peers_bench.sh) and read by both
# binaries; they never run at the same time, so they share the port.
cfgdir=$(mktemp -d /tmp/sinkholed-bench-cfg.XXXXXX)
trap 'rm -rf "$cfgdir"' EXIT
for size in $sizes; do
  WRITE_ONLY=1 "$here/perf/peers_sinkholed.sh" "$new" 127.0.0.11 5310 127.0.0.10:5353 "$threads" \
    "$cfgdir" "$bench/data/list_$size.txt"
  mv "$cfgdir/sinkholed.yaml" "$cfgdir/sinkholed-$size.yaml"
done
run_binary() { # $1 old|new $2 round
  local b=$old; [ "$1" = new ] && b=$new
  "$bench/run.sh" "${common[@]}" --rep-label "$2" --sizes "$sizes" custom --name "sinkholed-$1" \
    --port 5310 --style NXDOMAIN --cmd "$b --config $cfgdir/sinkholed-{SIZE}.yaml"
}

for r in $(seq 1 "$rounds"); do
  echo "=== round $r/$rounds $(date -Is)"
  "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes 9k reflector
  if [ $((r % 2)) = 1 ]; then run_binary old "$r"; run_binary new "$r"
  else run_binary new "$r"; run_binary old "$r"; fi
  "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes 9k reflector
done
"$bench/summarize.py" --file "$results" --campaign "$campaign"

python3 - "$results" "$campaign" <<'PY'
import csv, statistics as st, sys
from collections import defaultdict

path, campaign = sys.argv[1], sys.argv[2]
runs = defaultdict(dict)  # (list, workload) -> {(peer, rep): (cpu µs/q, qps)}
with open(path) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        if f"campaign={campaign}" not in (r.get("note") or "").split(";") or r["mode"] != "max":
            continue
        if r["peer"] not in ("sinkholed-old", "sinkholed-new"):
            continue
        try:
            cpu = float(r["srv_cpu_s"]) * 1e6 / float(r["completed"])
            qps = float(r["qps"])
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        runs[(r["list"], r["workload"])][(r["peer"][10:], r["rep"])] = (cpu, qps)


def med(xs):
    return st.median(xs) if xs else None


def f(x, fmt):
    return "NA" if x is None else format(x, fmt)


order_l = {"9k": 0, "100k": 1, "1m": 2}
order_w = {"blocked": 0, "cached": 1, "mixed": 2, "misses": 3}
print(f"## Old vs new sinkholed, campaign {campaign} (medians over rounds)")
print("| list | workload | rounds | CPU µs/q old | CPU µs/q new | new/old | per-round new/old"
      " | QPS old | QPS new | new/old |")
print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
for key in sorted(runs, key=lambda k: (order_l.get(k[0], 9), order_w.get(k[1], 9), k)):
    v = runs[key]
    cpu = {p: med([c for (pp, _), (c, _) in v.items() if pp == p]) for p in ("old", "new")}
    qps = {p: med([q for (pp, _), (_, q) in v.items() if pp == p]) for p in ("old", "new")}
    reps = sorted({rep for (_, rep) in v}, key=lambda x: int(x) if x.isdigit() else 0)
    paired = [v[("new", rep)][0] / v[("old", rep)][0] for rep in reps
              if ("new", rep) in v and ("old", rep) in v]
    cr = cpu["new"] / cpu["old"] if cpu["new"] and cpu["old"] else None
    qr = qps["new"] / qps["old"] if qps["new"] and qps["old"] else None
    print(f"| {key[0]} | {key[1]} | {len(paired)} | {f(cpu['old'], '.2f')} | {f(cpu['new'], '.2f')} | "
          f"{f(cr, '.3f')} | {' '.join(format(x, '.3f') for x in paired)} | "
          f"{f(qps['old'], ',.0f')} | {f(qps['new'], ',.0f')} | {f(qr, '.3f')} |")
PY
