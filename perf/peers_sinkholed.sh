#!/usr/bin/env bash
# Launcher used by the peers-bench harness ("custom" peer): writes a sinkholed config for
# the harness's address, port, upstream, thread count and list into the harness's work dir,
# then execs sinkholed so that the harness measures the resolver's own PID.
#   peers_sinkholed.sh BINARY ADDR PORT UPSTREAM THREADS WORKDIR [LIST]
# With LIST (one domain a line) every listed name and its subdomains get NXDOMAIN, the
# block style of every peer in the harness; without it sinkholed only forwards.
# CACHE_MAX_BYTES overrides cache.max_bytes (0 disables the cache); WRITE_ONLY=1 writes
# the config and exits.
set -euo pipefail
bin=$1 addr=$2 port=$3 upstream=$4 threads=$5 workdir=$6 list=${7:-}
{
  cat <<YAML
server:
  listen: ["$addr:$port"]
  workers: $threads
upstreams: ["$upstream"]
log:
  level: warn
YAML
  if [ -n "${CACHE_MAX_BYTES:-}" ]; then
    printf 'cache:\n  max_bytes: %s\n' "$CACHE_MAX_BYTES"
  fi
  if [ -n "$list" ]; then
    cat <<YAML
lists:
  bench: { path: "$list", format: domains }
policies:
  - name: everyone
    clients: ["0.0.0.0/0", "::/0"]
    block:
      - { list: bench, action: nxdomain }
YAML
  fi
} > "$workdir/sinkholed.yaml"
# WRITE_ONLY=1: only write the config (perf/peers_bench.sh prepares them before timing).
if [ -n "${WRITE_ONLY:-}" ]; then exit 0; fi
exec "$bin" --config "$workdir/sinkholed.yaml"
