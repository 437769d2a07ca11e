#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Server CPU and syscalls per forwarded query, two sinkholed binaries side by side.

    /usr/bin/python3 perf/forward_cpu.py OLD NEW [ROUNDS]

Each binary in turn (order alternated per round): one worker, cache off, forwarding to a
knotd (tests/integration's Knot) on loopback; dnsperf sends 4,000 QPS for 8 s of names that
are all different (random labels under the *.wild.example.test wildcard), so every query is
a forwarded one. Prints per round the server's utime+stime per completed query
(/proc/PID/stat) and, counted by `perf stat` on the server's PID, its socket, connect, close
and total syscalls per query; then the medians."""
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from processes import Knot, Sinkholed  # noqa: E402

QPS, SECONDS = 4000, 8
EVENTS = ["syscalls:sys_enter_socket", "syscalls:sys_enter_connect", "syscalls:sys_enter_close",
          "raw_syscalls:sys_enter"]


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime


def one_run(binary, knot, names):
    os.environ["SINKHOLED"] = binary
    s = Sinkholed([knot.upstream], workers=1, ipv6=False).start()
    try:
        c0 = cpu_ticks(s.proc.pid)
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(EVENTS), "-p",
                                 str(s.proc.pid), "--", "sleep", str(SECONDS)],
                                stderr=subprocess.PIPE, text=True)
        out = subprocess.run(["dnsperf", "-s", s.addr, "-p", str(s.port), "-d", names, "-l",
                              str(SECONDS), "-Q", str(QPS), "-q", "500", "-c", "4"],
                             capture_output=True, text=True, check=True).stdout
        c1 = cpu_ticks(s.proc.pid)
        counts = {}
        for line in perf.communicate()[1].splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit():
                counts[f[2].split(":")[1].replace("sys_enter_", "")] = int(f[0])
        done = int(next(l for l in out.splitlines() if "Queries completed" in l).split()[2])
        us = (c1 - c0) / os.sysconf("SC_CLK_TCK") * 1e6 / done
        return us, {k: v / done for k, v in counts.items()}
    finally:
        s.stop()
        s.cleanup()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bins = {"old": sys.argv[1], "new": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    names = "/tmp/sinkholed-forward-cpu-names.txt"
    rng = random.Random(1)
    with open(names, "w") as f:
        for i in range(QPS * SECONDS * 2):
            f.write(f"n{i}x{rng.randrange(1 << 30)}.wild.example.test A\n")
    knot = Knot().start()
    cpu = {"old": [], "new": []}
    try:
        for r in range(rounds):
            for which in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
                us, per_query = one_run(bins[which], knot, names)
                cpu[which].append(us)
                print(f"round {r} {which}: {us:.1f} µs CPU/query; per query: " +
                      ", ".join(f"{k} {v:.2f}" for k, v in per_query.items()), flush=True)
    finally:
        knot.stop()
        os.unlink(names)
    for which, v in cpu.items():
        print(f"{which}: median {sorted(v)[len(v) // 2]:.1f} µs CPU/query over {len(v)} rounds")


if __name__ == "__main__":
    main()
