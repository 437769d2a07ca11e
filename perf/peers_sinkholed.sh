#!/usr/bin/env bash
# Launcher used by the peers-bench harness ("custom" peer): writes a sinkholed config for
# the harness's address, port, upstream and thread count into the harness's work dir, then
# execs sinkholed so that the harness measures the resolver's own PID.
#   peers_sinkholed.sh BINARY ADDR PORT UPSTREAM THREADS WORKDIR
set -euo pipefail
bin=$1 addr=$2 port=$3 upstream=$4 threads=$5 workdir=$6
cat > "$workdir/sinkholed.yaml" <<YAML
server:
  listen: ["$addr:$port"]
  workers: $threads
upstreams: ["$upstream"]
log:
  level: warn
YAML
exec "$bin" --config "$workdir/sinkholed.yaml"
