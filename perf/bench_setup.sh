# SPDX-License-Identifier: MIT
# Sourced by the peers-bench scripts (peers_bench.sh, compare_binaries.sh): installs the
# tools they need, copies ../shared/peers-bench to $bench once and generates its data once.
#   bench_setup TOOL:PACKAGE...     (uses $src and $bench)
bench_setup() {
  local need=() tool
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"; fi
  if [ ! -d "$bench" ]; then cp -r "$src" "$bench"; fi
  if [ ! -f "$bench/data/list_1m.txt" ]; then (cd "$bench" && python3 ./gen_data.py); fi
}
