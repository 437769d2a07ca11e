#!/usr/bin/env bash
# Issue 5 benchmark: reload under load. dnsperf sends a fixed 20,000 QPS of mixed blocked
# and allowed names (peers-bench's q_mixed_1m: 10% on the list) while the configuration
# with a 1,000,000-entry list is reloaded 20 times through sinkholectl. Reports lost
# queries, latency percentiles over the whole run (dnsperf -v), reload durations, and
# steady vs peak RSS (sampled every 20 ms).
#
#   perf/reload_under_load.sh [RELOADS] [QPS]      (defaults 20, 20000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
reloads=${1:-20}
qps=${2:-20000}
src=${PEERS_BENCH:-$here/../shared/peers-bench}
[ -d "$src" ] || src=/work/shared/peers-bench
bench=${BENCH:-/tmp/sinkholed-peers-bench}
bin=${SINKHOLED:-$here/build/resolver/programs/sinkholed}
ctl=${SINKHOLECTL:-$(dirname "$bin")/sinkholectl}
[ -x "$bin" ] && [ -x "$ctl" ] || { echo "build sinkholed and sinkholectl first" >&2; exit 1; }
command -v dnsperf >/dev/null || bash "$here/deploy/install-deps.sh"
[ -d "$bench" ] || cp -r "$src" "$bench"
[ -f "$bench/data/list_1m.txt" ] || (cd "$bench" && python3 ./gen_data.py)
"$bench/auth.sh" start >/dev/null

work=$(mktemp -d /tmp/sinkholed-reload.XXXXXX)
cat > "$work/sinkholed.yaml" <<YAML
server: { listen: ["127.0.0.11:5311"], workers: 1 }
upstreams: ["127.0.0.10:5353"]
log: { level: warn }
control: { socket: "$work/control.sock", watch_files: false }
lists:
  big: { path: "$bench/data/list_1m.txt", format: domains, category: gambling }
policies:
  - { name: everyone, clients: ["0.0.0.0/0", "::/0"], block: [{ list: big, action: nxdomain }] }
YAML

"$bin" --config "$work/sinkholed.yaml" > "$work/sinkholed.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ "$(kdig +short +retry=0 +timeout=1 @127.0.0.11 -p 5311 host-1.bench1.test A 2>/dev/null)" != "" ] && break
  sleep 0.1
done
rss() { awk '/^VmRSS:/{print $2}' "/proc/$pid/status"; }
# Warm the cache-less path a little, then take the steady RSS.
taskset -c 1 dnsperf -s 127.0.0.11 -p 5311 -d "$bench/data/q_mixed_1m.txt" -l 3 -Q "$qps" > /dev/null 2>&1
steady=$(rss)

duration=$(( reloads * 3 / 2 + 6 ))
taskset -c 1 dnsperf -s 127.0.0.11 -p 5311 -d "$bench/data/q_mixed_1m.txt" -l "$duration" -Q "$qps" \
  -c 8 -t 2 -v > "$work/dnsperf.out" 2>&1 &
dp=$!
peak=$steady
( while kill -0 "$dp" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$work/peak"; sleep 0.02; done ) &
sampler=$!
sleep 3
: > "$work/reloads"
for i in $(seq 1 "$reloads"); do
  t0=$(date +%s.%N)
  "$ctl" -s "$work/control.sock" reload > "$work/reload.$i" || { echo "reload $i failed" >&2; cat "$work/reload.$i" >&2; }
  echo "$(date +%s.%N) - $t0" | bc >> "$work/reloads"
  sleep 0.5
done
wait "$dp"
kill "$sampler" 2>/dev/null || true
peak=$(cat "$work/peak" 2>/dev/null || echo "$steady")

o=$work/dnsperf.out
sent=$(awk '/Queries sent:/{print $3}' "$o"); lost=$(awk '/Queries lost:/{print $3}' "$o")
rc=$(sed -n 's/^ *Response codes: *//p' "$o")
awk '/^> /{printf "%.3f\n", $NF * 1000}' "$o" | sort -n > "$work/latencies"
n=$(wc -l < "$work/latencies")
pct() { sed -n "$(( ($1 * n + 999) / 1000 ))p" "$work/latencies"; }
p50=$(pct 500); p99=$(pct 990); p999=$(pct 999); pmax=$(tail -1 "$work/latencies")
read -r rmin rmed rmax < <(sort -n "$work/reloads" | awk '{v[NR]=$1} END{printf "%.3f %.3f %.3f\n", v[1], v[int((NR+1)/2)], v[NR]}')
gens=$(cat "$work"/reload.* 2>/dev/null | grep -c "generation" || true)
cat <<REPORT
reload under load: $reloads reloads of a 1,000,000-name list at $qps QPS (dnsperf, ${duration} s)
  queries sent $sent, lost $lost, rcodes $rc
  latency ms: p50 $p50  p99 $p99  p99.9 $p999  max $pmax
  reload duration s (sinkholectl round trip): min $rmin  median $rmed  max $rmax  ($gens/$reloads reported a new generation)
  RSS MB: steady $((steady / 1024))  peak during reloads $((peak / 1024))  ratio $(echo "scale=2; $peak / $steady" | bc)
REPORT
[ -f "$work/reload.1" ] && head -1 "$work/reload.1"; true
