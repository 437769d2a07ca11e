# SPDX-License-Identifier: MIT
"""Fault test 5: a 1 GiB memory limit, a 1,000,000-name list and a full cache; 20 reloads
and no OOM.

sinkholed runs in its own cgroup (v1 memory controller, memory.limit_in_bytes = 1 GiB,
entered before exec so start-up counts too) with one list of 1,000,000 names: every name
of the real lists in ../shared/data/blocklists (about 450,000 distinct), extended with
synthetic names below them up to one million. The cache (cache.max_bytes 128 MiB) is
filled past its bound with ~1 KiB answers of distinct names (knotd's wildcard TXT) until
it evicts: a byte-bounded cache costs the same whatever answers fill it, and 128 MiB of
1 KiB answers fills in seconds where the default 256 MiB of small answers would take
minutes; 128 MiB is half the default, the rest of the budget is headroom the test also
shows (peak figures printed). Then 20 reloads (SIGHUP and `sinkholectl reload`
alternating, the list changed a little before each): each succeeds, the process
survives, the cgroup records no OOM kill (memory.oom_control), and a listed name is
still blocked. The reloads' peak RSS (VmHWM, reset before the first reload) and the
cgroup's peak usage (memory.max_usage_in_bytes) are printed.

Sanitizer builds: ASan's shadow memory, redzones and quarantine (256 MiB by default) and
TSan's shadow cost a multiple of the plain build's memory, so a plain 1 GiB limit would
test the sanitizer, not sinkholed. The limit is scaled by the factor the sanitizers
document (AddressSanitizer: about 3x; ThreadSanitizer: 5-10x, 8 here) and printed; the
RelWithDebInfo build is held to 1 GiB exactly. A missing memory controller fails the test.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NXDOMAIN  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase, list_names  # noqa: E402
from processes import sinkholed_binary  # noqa: E402
from zones import soa_zone_text, zone_files  # noqa: E402

CGROUP_ROOT = "/sys/fs/cgroup/memory"
DNSPERF = "/usr/bin/dnsperf"
GIB = 1 << 30
NAMES = 1_000_000
RELOADS = 20
CACHE_MIB = 128
CLIENT = "127.0.0.1"
SOURCES = [("blocklistproject/phishing.domains", "domains"),
           ("stevenblack/unified-domains.txt", "domains"),
           ("stevenblack/porn-only-domains.txt", "domains"),
           ("blocklistproject/basic.hosts", "hosts"),
           ("ut1/gambling.domains", "domains"),
           ("blocklistproject/scam.hosts", "hosts")]


def sanitizer_factor(binary):
    """(factor, name) for the build under test, from the runtime linked into it."""
    with open(binary, "rb") as f:
        data = f.read()
    if b"__tsan_init" in data or b"libtsan" in data:
        return 8, "ThreadSanitizer"
    if b"__asan_init" in data or b"libasan" in data:
        return 3, "AddressSanitizer"
    return 1, "none"


def million_names():
    seen = set()
    out = []
    for rel, fmt in SOURCES:
        for n in list_names(rel, fmt):
            if n not in seen:
                seen.add(n)
                out.append(n)
    real = len(out)
    base = list(out)
    i = 0
    while len(out) < NAMES:
        n = f"m{i // len(base)}.{base[i % len(base)]}"
        i += 1
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out[:NAMES], real


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"{key} missing from /proc/{pid}/status")


def read(path):
    with open(path) as f:
        return f.read()


class FaultMemoryTest(PolicyTestCase):
    def test_million_names_full_cache_20_reloads_under_1gib(self):
        if not os.path.isfile(os.path.join(CGROUP_ROOT, "memory.limit_in_bytes")):
            raise RuntimeError(f"the cgroup v1 memory controller is not at {CGROUP_ROOT}")
        if not os.access(DNSPERF, os.X_OK):
            raise RuntimeError(f"{DNSPERF} is missing (Debian package dnsperf)")
        factor, sanitizer = sanitizer_factor(sinkholed_binary())
        limit = GIB * factor
        cg = os.path.join(CGROUP_ROOT, f"sinkholed-fault5-{os.getpid()}-{random.randrange(10**6)}")
        os.mkdir(cg)
        self.addCleanup(self.remove_cgroup, cg)
        with open(os.path.join(cg, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        # No swap here, but a swap limit (when accounted) keeps the test honest elsewhere.
        memsw = os.path.join(cg, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            with open(memsw, "w") as f:
                f.write(str(limit))

        sock_dir = tempfile.mkdtemp(prefix="sinkholed-fault5-")
        self.addCleanup(shutil.rmtree, sock_dir, True)
        sock = os.path.join(sock_dir, "control.sock")
        zones = zone_files()
        txt = " ".join('"' + c * 250 + '"' for c in "abcd")  # ~1 KiB per answer
        zones["fill.test"] = soa_zone_text("fill.test", [f"* 3600 IN TXT {txt}"])
        knot = self.start_knot(zones=zones)

        t0 = time.monotonic()
        names, real = million_names()
        listed = names[123_456]
        list_text = "\n".join(names) + "\n"
        generated = time.monotonic() - t0
        policy = f"""\
control:
  socket: "{sock}"
  watch_files: false
lists:
  million: {{ path: million.txt, category: phishing }}
policies:
  - name: all
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: million, action: nxdomain }}]
"""
        # Enters the cgroup, then execs sinkholed: the PID and every byte are the cgroup's.
        enter = ["/bin/sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh"]
        t0 = time.monotonic()
        s = PolicySinkholed([knot.upstream], policy, {"million.txt": list_text}, workers=2,
                            cache={"max_bytes": CACHE_MIB << 20}, exec_prefix=enter)
        self.addCleanup(s.cleanup)
        s.start(timeout=60 * factor)
        started = time.monotonic() - t0
        pid = s.proc.pid
        self.assertIn(str(pid), read(os.path.join(cg, "cgroup.procs")).split())
        self.assertEqual(s.ask(CLIENT, listed).rcode, NXDOMAIN)
        rss_loaded = proc_status(pid, "VmRSS")

        # Fill the cache: distinct names, each a ~1 KiB answer, until it evicts.
        fill = os.path.join(s.dir, "fill.txt")
        per_entry = 1300
        count = (CACHE_MIB << 20) // per_entry * 5 // 4
        with open(fill, "w") as f:
            f.write("".join(f"c{i}.fill.test TXT\n" for i in range(count)))
        t0 = time.monotonic()
        perf = subprocess.run([DNSPERF, "-s", s.addr, "-p", str(s.port), "-d", fill, "-n", "1",
                               "-e", "-c", "4", "-q", "256", "-t", "10"],
                              capture_output=True, text=True, timeout=300 * factor)
        filled = time.monotonic() - t0
        self.assertEqual(perf.returncode, 0, perf.stdout + perf.stderr)
        cache = json.loads(sinkholectl(sock, "stats", "--json").stdout)["cache"]
        self.assertGreater(cache["evictions"], 0, cache)
        self.assertGreater(cache["bytes"], (CACHE_MIB << 20) * 9 // 10, cache)
        rss_full = proc_status(pid, "VmRSS")

        # The reloads' peak: VmHWM reset now (clear_refs 5), the cgroup's peak too.
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        with open(os.path.join(cg, "memory.max_usage_in_bytes"), "w") as f:
            f.write("0")
        status = json.loads(sinkholectl(sock, "status", "--json").stdout)
        gen0 = status["generation"]
        durations = []
        rng = random.Random(5)
        for n in range(RELOADS):
            extra = "".join(f"r{n}-{rng.randrange(10**9)}.added.test\n" for _ in range(10))
            s.rewrite(files={"million.txt": list_text + extra})
            t0 = time.monotonic()
            if n % 2 == 0:
                ok, text = s.reload(timeout=120 * factor)
                self.assertTrue(ok, f"reload {n} failed:\n{text[-2000:]}")
            else:
                p = sinkholectl(sock, "reload", timeout=120 * factor)
                self.assertEqual(p.returncode, 0, f"reload {n}: {p.stdout}{p.stderr}")
            durations.append(time.monotonic() - t0)
            self.assertTrue(s.running(), f"sinkholed died at reload {n}:\n{s.log_text()[-3000:]}")

        hwm = proc_status(pid, "VmHWM")
        cg_peak = int(read(os.path.join(cg, "memory.max_usage_in_bytes")))
        failcnt = int(read(os.path.join(cg, "memory.failcnt")))
        oom = dict(line.split() for line in read(os.path.join(cg, "memory.oom_control")).splitlines())
        status = json.loads(sinkholectl(sock, "status", "--json").stdout)
        mib = 1 << 20
        print(f"\nfault 5: limit {limit // mib} MiB (sanitizer: {sanitizer}), {NAMES} names "
              f"({real} from the real lists), generated in {generated:.1f} s, started in "
              f"{started:.1f} s; RSS loaded {rss_loaded // mib} MiB, with a full cache "
              f"({cache['entries']} entries, {cache['bytes'] // mib} MiB, filled in "
              f"{filled:.1f} s) {rss_full // mib} MiB; {RELOADS} reloads (median "
              f"{sorted(durations)[len(durations) // 2]:.2f} s, max {max(durations):.2f} s): "
              f"peak RSS (VmHWM) {hwm // mib} MiB, cgroup peak {cg_peak // mib} MiB, "
              f"failcnt {failcnt}, oom_kill {oom.get('oom_kill')}", file=sys.stderr)

        self.assertTrue(s.running())
        self.assertEqual(oom.get("oom_kill", "0"), "0", oom)
        self.assertEqual(status["generation"] - gen0, RELOADS)
        self.assertEqual(status["reload_failures"], 0)
        self.assertLess(cg_peak, limit)
        self.assertEqual(s.ask(CLIENT, listed).rcode, NXDOMAIN)
        s.stop()

    @staticmethod
    def remove_cgroup(cg):
        # The daemon has exited by now (cleanups run last-in first-out); move any process
        # left back to the parent so the directory can go.
        try:
            for pid in read(os.path.join(cg, "cgroup.procs")).split():
                try:
                    with open(os.path.join(CGROUP_ROOT, "cgroup.procs"), "w") as f:
                        f.write(pid)
                except OSError:
                    pass
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(cg)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"could not remove the cgroup {cg}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
