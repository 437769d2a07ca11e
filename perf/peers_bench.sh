#!/usr/bin/env bash
# Issue 6 benchmark: sinkholed next to Unbound (local-zone always_nxdomain), dnsdist
# (SuffixMatchNode + packet cache) and the reflector (the limit of client and loopback),
# in the same run, with ../shared/peers-bench: lists of 9k, 100k and 1M names, workloads
# blocked, cached, mixed and misses. Every round runs the reflector, then the peers in an
# order rotated per round (machine drift hits every peer alike), then the reflector again.
#
#   perf/peers_bench.sh [--rounds N] [--threads N] [--sizes "9k 100k 1m"]
#                       [--workloads "blocked cached mixed misses"] [--duration S]
#                       [--peers "unbound dnsdist"]
#
# --threads 1 (default): every server one worker pinned to CPU 0, dnsperf (and knotd) on
# CPU 1. --threads 2: two workers / Unbound num-threads 2 / dnsdist two listeners, on both
# cores, and the client shares them (so the figures are for comparing peers, not capacity).
# Prints the median tables (QPS, % of the reflector, server CPU µs per query, load time,
# RSS); raw rows stay in $BENCH/results.tsv under the campaign name printed at the top.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 threads=1 sizes="9k 100k 1m" workloads="blocked cached mixed misses" duration=8
peers="unbound dnsdist"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --threads) threads=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --duration) duration=$2; shift ;;
    --peers) peers=$2; shift ;;
    -h | --help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

src=${PEERS_BENCH:-$here/../shared/peers-bench}
bench=${BENCH:-/tmp/sinkholed-peers-bench}
bin=${SINKHOLED:-$here/build/resolver/programs/sinkholed}
[ -x "$bin" ] || { echo "build sinkholed first ($bin)" >&2; exit 1; }
. "$here/perf/bench_setup.sh"
bench_setup dnsperf:dnsperf unbound:unbound dnsdist:dnsdist bc:bc kdig:knot-dnsutils knotd:knot

cpu_opts=()
if [ "$threads" -gt 1 ]; then cpu_opts=(--srv-cpus 0-1 --cli-cpus 0-1); fi
campaign=issue6-t$threads-$(date +%Y%m%d-%H%M%S)
echo "campaign $campaign: $rounds round(s), $threads thread(s), sizes '$sizes', workloads '$workloads'"
common=(--threads "$threads" "${cpu_opts[@]}" --reps 1 --duration "$duration" --lat-rate 0
  --workloads "$workloads" --note "campaign=$campaign")
# The configs are written before the rounds, so that the harness's clock (exec → ready)
# times sinkholed itself and not a wrapper script writing its config: the harness's first
# readiness probe leaves a few ms after exec, and a probe sent before the sockets are bound
# is lost (kdig then waits its 1 s timeout).
cfgdir=$(mktemp -d /tmp/sinkholed-bench-cfg.XXXXXX)
for size in $sizes; do
  WRITE_ONLY=1 "$here/perf/peers_sinkholed.sh" "$bin" 127.0.0.11 5310 127.0.0.10:5353 "$threads" \
    "$cfgdir" "$bench/data/list_$size.txt"
  mv "$cfgdir/sinkholed.yaml" "$cfgdir/sinkholed-$size.yaml"
done
sinkholed_peer=(custom --name sinkholed --port 5310 --style NXDOMAIN
  --cmd "$bin --config $cfgdir/sinkholed-{SIZE}.yaml")

read -r -a order <<< "$peers sinkholed"
n=${#order[@]}
for r in $(seq 1 "$rounds"); do
  echo "=== round $r/$rounds $(date -Is)"
  "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes 9k reflector
  for i in $(seq 0 $((n - 1))); do
    p=${order[$(((i + r - 1) % n))]}
    if [ "$p" = sinkholed ]; then
      "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes "$sizes" "${sinkholed_peer[@]}"
    else
      "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes "$sizes" "$p"
    fi
  done
  "$bench/run.sh" "${common[@]}" --rep-label "$r" --sizes 9k reflector
done
"$bench/summarize.py" --campaign "$campaign"
