#!/usr/bin/env bash
# Issue 3 benchmark: sinkholed forwarding to knotd, next to Unbound forwarding to the same
# knotd, in the same run, with ../shared/peers-bench (dnsperf, one server core, the client
# on the other). Workload "misses": every query a unique name, so every answer crosses to
# the upstream. Rounds interleave the two peers so machine drift hits both alike.
#
#   perf/forwarding_vs_unbound.sh [ROUNDS]        (default 3; about 1 minute per round)
# Prints the median table; raw rows stay in $BENCH/results.tsv.
#
# Readiness: the harness waits for an NXDOMAIN "block probe". Both peers run here as plain
# forwarders (no list: the cost measured is forwarding alone), so this script gives the
# harness a data overlay whose block probe is a name that does not exist under
# bench1.test: both peers answer it NXDOMAIN by forwarding.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
src=${PEERS_BENCH:-$here/../shared/peers-bench}
bench=${BENCH:-/tmp/sinkholed-peers-bench}
bin=${SINKHOLED:-$here/build/resolver/programs/sinkholed}
[ -x "$bin" ] || { echo "build sinkholed first ($bin)" >&2; exit 1; }
command -v dnsperf >/dev/null || bash "$here/deploy/install-deps.sh"

if [ ! -d "$bench" ]; then cp -r "$src" "$bench"; fi
if [ ! -f "$bench/data/list_1m.txt" ]; then (cd "$bench" && python3 ./gen_data.py); fi
overlay=$bench/data-sinkholed
rm -rf "$overlay"; mkdir -p "$overlay"
for f in "$bench"/data/*; do ln -s "$f" "$overlay/$(basename "$f")"; done
rm "$overlay/probe.txt"
{ echo "no-such-name-for-readiness.bench1.test"; sed -n 2p "$bench/data/probe.txt"; } > "$overlay/probe.txt"

campaign=fwd-$(date +%Y%m%d-%H%M%S)
opts=(--sizes 9k --workloads misses --reps 1 --lat-rate 0 --note "campaign=$campaign")
for r in $(seq 1 "$rounds"); do
  echo "=== round $r/$rounds"
  DATA=$overlay "$bench/run.sh" "${opts[@]}" --rep-label "$r" unbound
  DATA=$overlay "$bench/run.sh" "${opts[@]}" --rep-label "$r" custom --name sinkholed --port 5310 \
    --cmd "$here/perf/peers_sinkholed.sh $bin {ADDR} {PORT} {UPSTREAM} {THREADS} {WORKDIR}" \
    --style "forwarder (no list)"
done
"$bench/summarize.py" --campaign "$campaign"
