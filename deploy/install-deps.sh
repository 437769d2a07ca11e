#!/usr/bin/env bash
# Installs every Debian 12 package sinkholed needs to build, test and benchmark.
# Idempotent and non-interactive; safe to run on a fresh machine or again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format ccache
  # core libraries
  libuv1-dev libldns-dev libhyperscan-dev libyaml-cpp-dev libidn2-dev
  libcli11-dev libspdlog-dev libfmt-dev libabsl-dev libsystemd-dev libssl-dev
  # tests and benchmarks
  doctest-dev libbenchmark-dev python3 knot knot-dnsutils dnsutils dnsperf unbound
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The knot package enables a knotd system service; our tests start their own
# instances on loopback, so the packaged one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled knot >/dev/null 2>&1; then
  $SUDO systemctl disable --now knot >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled unbound >/dev/null 2>&1; then
  $SUDO systemctl disable --now unbound >/dev/null 2>&1 || true
fi
