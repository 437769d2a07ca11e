#!/usr/bin/env bash
# Installs every Debian 12 package sinkholed needs to build, test and benchmark.
# Idempotent and non-interactive; safe to run on a fresh machine or again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format ccache
  # the libFuzzer build (tests/fuzz): clang and its fuzzer/sanitizer runtimes
  clang libclang-rt-14-dev
  # core libraries
  libuv1-dev libldns-dev libhyperscan-dev libyaml-cpp-dev libidn2-dev
  libcli11-dev libspdlog-dev libfmt-dev libabsl-dev libsystemd-dev libssl-dev nlohmann-json3-dev
  libxxhash-dev
  # HTTP(S) list sources
  libcurl4-openssl-dev
  # operations: metrics/explain HTTP, dnstap
  libmicrohttpd-dev libfstrm-dev libprotobuf-c-dev protobuf-c-compiler
  # the strict checks' TLD / public-suffix list (/usr/share/publicsuffix)
  publicsuffix
  # packaging
  debhelper dpkg-dev fakeroot help2man
  # tests and benchmarks
  doctest-dev libbenchmark-dev python3 python3-dnspython python3-yaml knot knot-dnsutils dnsutils dnsperf unbound
  systemd fstrm-bin dnstap-ldns prometheus nginx chromium dnsdist
  # README "First steps" and tests/quickstart (curl /metrics; ip, ss in a namespace)
  curl iproute2
  # tests/man and test_config_reference.py render the man pages (man -l)
  man-db groff-base
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
# Packages such as nginx and prometheus start their service on install; tests start
# their own instances on loopback, so forbid that for the duration (policy-rc.d, exit 101).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# Wait for a dpkg lock held by a concurrent install instead of failing at once.
lock=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${lock[@]}" update -q
$SUDO apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}"
# The knot package enables a knotd system service; our tests start their own
# instances on loopback, so the packaged one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled knot >/dev/null 2>&1; then
  $SUDO systemctl disable --now knot >/dev/null 2>&1 || true
fi
# Packaged services our tests start their own instances of, on loopback.
for unit in unbound prometheus nginx dnsdist; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled "$unit" >/dev/null 2>&1; then
    $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
