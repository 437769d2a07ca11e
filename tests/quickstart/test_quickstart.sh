#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# README command (1), end to end, as a newcomer runs it: `bash deploy/quickstart.sh`
# installs, builds Release (with -Werror) and runs sinkholed in the foreground on
# deploy/examples/sinkholed.yaml. Then, as README "First steps" says:
#   - www.casino.example A  (kdig +edns) → 203.0.113.10 with EDE 16 and the legal-basis text;
#   - www.casino.example AAAA over [::1] → 2001:db8::10;
#   - an allowed name is forwarded to the nameserver of /etc/resolv.conf and answered;
#   - `sinkholectl status` with no flags answers (exit 0); `explain` names the list;
#   - /metrics on 127.0.0.1:9153 counts the blocks;
#   - Ctrl-C (SIGINT to the foreground process group) stops it, exit 0, within seconds.
#
# Isolation: CI machines have no Internet and their resolv.conf points nowhere, and other
# tests may hold 127.0.0.1:5353 or /run/sinkholed. So everything runs in private mount and
# network namespaces (`unshare -m -n`): a temporary resolv.conf is bind-mounted over
# /etc/resolv.conf naming a knotd started here on 127.0.0.53:53, /run is a private tmpfs,
# and only loopback exists. Nothing is visible outside; the real /etc/resolv.conf is
# checked unchanged at the end.
#
#   sudo bash tests/quickstart/test_quickstart.sh
# Environment: SINKHOLE_BUILD_DIR (default build-quickstart, relative to the repository),
# QUICKSTART_TIMEOUT seconds to wait for the build and the listen port (default 900).
# Needs root (namespaces, port 53). Prints PASS or FAIL; exit 0 only on PASS.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
export SINKHOLE_BUILD_DIR=${SINKHOLE_BUILD_DIR:-build-quickstart}
timeout_s=${QUICKSTART_TIMEOUT:-900}
upstream_addr=127.0.0.53

say() { echo "test_quickstart: $*"; }

if [ "${1:-}" != "--inside" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "FAIL: needs root (private namespaces, a nameserver on port 53)"
    exit 1
  fi
  # The namespace has no network: install what is missing now (quickstart.sh runs this
  # again inside, where it finds everything installed and does nothing).
  if ! bash "$repo/deploy/install-deps.sh"; then
    say "FAIL: deploy/install-deps.sh failed"
    exit 1
  fi
  # (A container may itself bind-mount /etc/resolv.conf: compare, do not expect none.)
  before=$(sha256sum /etc/resolv.conf 2>&1; findmnt -n /etc/resolv.conf)
  unshare --mount --net --propagation private -- bash "$0" --inside
  rc=$?
  after=$(sha256sum /etc/resolv.conf 2>&1; findmnt -n /etc/resolv.conf)
  if [ "$before" != "$after" ]; then
    say "FAIL: the real /etc/resolv.conf changed or has a mount on it"
    exit 1
  fi
  exit "$rc"
fi

# --- inside the private namespaces ----------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/quickstart-test.XXXXXX")
knot_pid=""
qs_pid=""
failures=0

stop_pid() {  # stop_pid PID [group]: TERM, then KILL after 5 s
  local pid=$1 target=$1
  [ -n "$pid" ] || return 0
  [ "${2:-}" = group ] && target="-$pid"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "$target" 2>/dev/null
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "$target" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  # The quickstart runs in its own process group (job control below): stopping the group
  # also stops a build still in progress (cmake, ninja, compilers).
  stop_pid "$qs_pid" group
  stop_pid "$knot_pid"
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  say "FAIL: $*"
  failures=$((failures + 1))
}

finish() {
  if [ "$failures" -eq 0 ]; then
    say "PASS: README command 1 builds, blocks, forwards, answers sinkholectl and stops cleanly"
    exit 0
  fi
  say "--- sinkholed output (last 40 lines) ---"
  tail -n 40 "$tmp/quickstart.log" 2>/dev/null
  say "FAIL: $failures check(s) failed"
  exit 1
}

ip link set lo up || { fail "cannot bring up loopback in the namespace"; finish; }
mount -t tmpfs -o mode=0755 tmpfs /run || { fail "cannot mount a private /run"; finish; }
printf 'nameserver %s\n' "$upstream_addr" >"$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf ||
  { fail "cannot bind-mount a resolv.conf over /etc/resolv.conf"; finish; }

# The upstream: knotd serving example. with the allowed name.
mkdir -p "$tmp/knot/run" "$tmp/knot/db" "$tmp/knot/zones"
cat >"$tmp/knot/zones/example.zone" <<'EOF'
$TTL 300
@                 SOA   ns.example. hostmaster.example. 1 3600 600 86400 300
@                 NS    ns.example.
ns                A     127.0.0.53
www.allowed       A     192.0.2.80
www.allowed       AAAA  2001:db8::80
EOF
cat >"$tmp/knot/knot.conf" <<EOF
server:
    rundir: "$tmp/knot/run"
    listen: [ $upstream_addr@53 ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$tmp/knot/db"
template:
  - id: default
    storage: "$tmp/knot/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.
EOF
knotd -c "$tmp/knot/knot.conf" >"$tmp/knotd.log" 2>&1 </dev/null &
knot_pid=$!
for _ in $(seq 100); do
  kdig @"$upstream_addr" -p 53 +time=1 +retry=0 +short SOA example. 2>/dev/null | grep -q hostmaster && break
  sleep 0.2
done
if ! kdig @"$upstream_addr" -p 53 +time=1 +retry=0 +short A www.allowed.example | grep -qx 192.0.2.80; then
  fail "knotd did not serve example. on $upstream_addr:53"
  cat "$tmp/knotd.log"
  finish
fi

# README command (1), in the background, in its own process group as a shell gives a
# foreground job; the script execs sinkholed, so this PID becomes sinkholed's.
say "running bash deploy/quickstart.sh (build dir $SINKHOLE_BUILD_DIR; a cold build takes minutes)"
started=$(date +%s)
set -m
bash "$repo/deploy/quickstart.sh" >"$tmp/quickstart.log" 2>&1 </dev/null &
qs_pid=$!
set +m

listening() {
  ss -Hln "( sport = :5353 )" 2>/dev/null | grep -q 127.0.0.1:5353 &&
    ss -Hltn "( sport = :9153 )" 2>/dev/null | grep -q 127.0.0.1:9153
}
until listening; do
  if ! kill -0 "$qs_pid" 2>/dev/null; then
    wait "$qs_pid"
    fail "deploy/quickstart.sh exited with status $? before listening"
    finish
  fi
  if [ $(($(date +%s) - started)) -ge "$timeout_s" ]; then
    fail "nothing listened on 127.0.0.1:5353 and 127.0.0.1:9153 within $timeout_s s"
    finish
  fi
  sleep 1
done
say "listening after $(($(date +%s) - started)) s"
ctl="$repo/$SINKHOLE_BUILD_DIR/resolver/programs/sinkholectl"
case $SINKHOLE_BUILD_DIR in /*) ctl="$SINKHOLE_BUILD_DIR/resolver/programs/sinkholectl" ;; esac

# Ports bind before the lists load (listeners.h): wait for the first answer.
for _ in $(seq 100); do
  kdig @127.0.0.1 -p 5353 +time=1 +retry=0 www.casino.example A >/dev/null 2>&1 && break
  sleep 0.2
done

expect() {  # expect WHAT OUTPUT PATTERN...: every grep -E pattern must match
  local what=$1 out=$2
  shift 2
  for pat in "$@"; do
    if ! grep -Eq -- "$pat" <<<"$out"; then
      fail "$what: no match for /$pat/ in:"
      echo "$out" | sed 's/^/    /'
      return 1
    fi
  done
  say "ok: $what"
}

out=$(kdig @127.0.0.1 -p 5353 +time=2 +retry=0 +edns www.casino.example A 2>&1)
expect "blocked A: warning page with EDE 16" "$out" \
  'status: NOERROR' \
  '^www\.casino\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+203\.0\.113\.10$' \
  'EDE: 16 \(Censored\)' \
  'Blocked under Decree 147/2024/ND-CP \(list gambling, category gambling\)'

out=$(kdig @::1 -p 5353 +time=2 +retry=0 +edns www.casino.example AAAA 2>&1)
expect "blocked AAAA over [::1]" "$out" \
  '^www\.casino\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+AAAA[[:space:]]+2001:db8::10$' \
  'EDE: 16 \(Censored\)'

out=$(kdig @127.0.0.1 -p 5353 +time=3 +retry=0 www.allowed.example A 2>&1)
expect "allowed name forwarded to resolv.conf's nameserver" "$out" \
  'status: NOERROR' \
  '^www\.allowed\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.80$'

out=$("$ctl" status 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
  fail "sinkholectl status (no flags) exited $rc:"
  echo "$out" | sed 's/^/    /'
else
  expect "sinkholectl status with no flags" "$out" 'gambling'
fi

out=$("$ctl" explain www.casino.example 2>&1)
expect "sinkholectl explain www.casino.example" "$out" \
  'BLOCKED' 'list gambling' 'demo-gambling\.txt' 'warning-page'

out=$(curl -s --max-time 5 http://127.0.0.1:9153/metrics 2>&1)
expect "metrics count the blocks" "$out" \
  'sinkholed_blocked_total\{[^}]*list="gambling"[^}]*\} [1-9]'

# Ctrl-C: SIGINT to the whole foreground process group, as a terminal sends it.
kill -INT -- "-$qs_pid"
stopped=""
for _ in $(seq 100); do
  if ! kill -0 "$qs_pid" 2>/dev/null; then
    stopped=yes
    break
  fi
  sleep 0.1
done
if [ -z "$stopped" ]; then
  fail "sinkholed still running 10 s after Ctrl-C (SIGINT)"
else
  wait "$qs_pid"
  rc=$?
  qs_pid=""
  if [ "$rc" -eq 0 ]; then say "ok: Ctrl-C stopped it with exit 0"; else fail "exit status $rc after Ctrl-C"; fi
fi
finish
