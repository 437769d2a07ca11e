#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""RPZ secondary benchmark (issue 14): knotd on loopback as the primary of a 1,000,000-name
RPZ zone. Measures (1) the first AXFR: sinkholed started → a name of the zone blocked, and
sinkholed's peak (VmHWM) and steady (VmRSS) memory; (2) an IXFR of 1,000 additions and
1,000 removals: knotc zone-commit → NOTIFY → IXFR → build → an added name blocked and a
removed one unblocked (and the daemon's own "N s after the change was seen"); (3) the same
zone as a file list: start to serving, and a SIGHUP full reload of it.

    SINKHOLED=build/resolver/programs/sinkholed perf/rpz_xfr_bench.py [NAMES]
    SINKHOLED=... perf/rpz_xfr_bench.py --file-only [NAMES]

--file-only runs step (3)'s start only, without knotd (its zone file is the one
zone_text() writes: knotd never syncs it back), and adds the process's CPU time
(utime + stime at the first blocked answer) to the wall time: on the shared machine CPU
is the figure to compare.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
from dnswire import NXDOMAIN  # noqa: E402
from policy_harness import PolicySinkholed  # noqa: E402
from test_rpz_secondary import ZONE, PrimaryKnot, zone_text  # noqa: E402

FILE_ONLY = "--file-only" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--file-only"]
NAMES = int(ARGS[0]) if ARGS else 1_000_000
CLIENT = "127.0.0.2"


def mem(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) // 1024
    return out


def cpu_and_faults(pid):
    """utime + stime in seconds, and minor page faults, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])


def blocked(s, name):
    return s.ask(CLIENT, name, "A", timeout=3).rcode == NXDOMAIN


def wait(pred, timeout=600, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(step)
    raise SystemExit("timed out")


def policy(list_yaml):
    return f"""lists:
  mic: {{ format: rpz, max_entries: 5000000, {list_yaml} }}
policies:
  - name: everyone
    clients: ["127.0.0.0/8"]
    block: [{{ list: mic, action: nxdomain }}]
"""


def file_only(names):
    f = PolicySinkholed(["127.0.0.1:9"], policy("path: mic.rpz"), {"mic.rpz": zone_text(names)},
                        ipv6=False)
    t0 = time.monotonic()
    f.start(timeout=600)
    try:
        t_block = wait(lambda: blocked(f, names[-1]))
        cpu, faults = cpu_and_faults(f.proc.pid)
        m = mem(f.proc.pid)
        print(f"file list: start → serving {t_block - t0:.2f} s, CPU {cpu:.2f} s, "
              f"{faults:,} page faults; "
              f"peak RSS {m['VmHWM']} MB, steady {m['VmRSS']} MB")
    finally:
        f.stop()


def main():
    names = [f"n{i}.bench{i % 997}.example" for i in range(NAMES)]
    if FILE_ONLY:
        return file_only(names)
    primary = PrimaryKnot(names)
    try:
        t = time.monotonic()
        primary.start(timeout=600)
        print(f"knotd loaded {NAMES:,} names in {time.monotonic() - t:.1f} s")
        s = PolicySinkholed(["127.0.0.1:9"], policy(
            f'primary: ["{primary.addr}:{primary.port}"], zone: {ZONE}, '
            'tsig: { name: feed, algorithm: hmac-sha256, secret_file: feed.key }'),
            {"feed.key": primary.key_text}, ipv6=False, log_level="info")
        t0 = time.monotonic()
        s.start(timeout=60)
        t_ready = time.monotonic()
        t_block = wait(lambda: blocked(s, names[-1]))
        time.sleep(2)
        m = mem(s.proc.pid)
        print(f"AXFR: sinkholed start → serving {t_block - t0:.2f} s "
              f"(READY after {t_ready - t0:.2f} s); peak RSS {m['VmHWM']} MB, "
              f"steady {m['VmRSS']} MB")
        axfr = re.findall(r"AXFR of serial \d+ from \S+ \((\d+) records, ([\d.]+) s\)",
                          s.log_text())
        print(f"  transfer itself: {axfr}")
        primary.notify([(s.addr, s.port)])
        # IXFR: 1,000 additions and 1,000 removals in one commit.
        added = [f"new{i}.bench.example" for i in range(1000)]
        removed = names[:1000]
        primary.knotc("zone-begin", ZONE)
        for n in added:
            primary.knotc("zone-set", ZONE, f"{n}.{ZONE}.", "60", "CNAME", ".")
        for n in removed:
            primary.knotc("zone-unset", ZONE, f"{n}.{ZONE}.", "CNAME")
        before = s.log_size()
        t_commit = time.monotonic()
        primary.knotc("zone-commit", ZONE)
        t_add = wait(lambda: blocked(s, added[-1]))
        t_rm = wait(lambda: not blocked(s, removed[-1]))
        text = s.log_since(before)
        seen = re.findall(r"serving \(was serial \d+; ([\d.]+) s after the change was seen\)",
                          text)
        ixfr = re.findall(r"IXFR of serial \d+ from \S+ \((\d+) records, ([\d.]+) s\)", text)
        m2 = mem(s.proc.pid)
        print(f"IXFR 1,000 + 1,000: commit → added name blocked {t_add - t_commit:.2f} s, "
              f"removed name unblocked {t_rm - t_commit:.2f} s; daemon: NOTIFY → serving "
              f"{seen} s; transfer+apply {ixfr}; peak RSS {m2['VmHWM']} MB, "
              f"steady {m2['VmRSS']} MB")
        s.stop()
        # The same zone as a file list.
        zone_file = os.path.join(primary.dir, "zones", f"{ZONE}.zone")
        with open(zone_file) as f:
            zone = f.read()
        f = PolicySinkholed(["127.0.0.1:9"], policy("path: mic.rpz"), {"mic.rpz": zone},
                            ipv6=False)
        t0 = time.monotonic()
        f.start(timeout=600)
        t_block = wait(lambda: blocked(f, names[-1]))
        m3 = mem(f.proc.pid)
        print(f"file list: start → serving {t_block - t0:.2f} s; peak RSS {m3['VmHWM']} MB, "
              f"steady {m3['VmRSS']} MB")
        # One byte more, so the reload compiles the list again (an unchanged file is reused).
        with open(os.path.join(f.dir, "mic.rpz"), "a") as out:
            out.write("; changed\n")
        t0 = time.monotonic()
        ok, text = f.reload(timeout=600)
        took = re.findall(r"reload: generation \d+ in service: .* \(([\d.]+) s\)", text)
        m4 = mem(f.proc.pid)
        print(f"file list: full reload (SIGHUP) {time.monotonic() - t0:.2f} s "
              f"(build {took} s), ok={ok}; peak RSS {m4['VmHWM']} MB")
        f.stop()
    finally:
        primary.stop()


if __name__ == "__main__":
    main()
