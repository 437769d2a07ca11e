# SPDX-License-Identifier: MIT
"""Fault test 1: 100 reloads under load, nothing lost. dnsperf sends a mix of blocked and
allowed names (knotd answers the allowed ones) for at least 30 s while the blocklist is
changed 100 times — a few names added, a few removed, never shrinking by much — and each
change is published alternately by SIGHUP and by `sinkholectl reload`. Every query gets
an answer (dnsperf's "Queries lost" is 0), none is SERVFAIL, every reload succeeds (the
generation moves by exactly 100, `reload_failures` stays 0), and after the run the last
list is the one in service. The figures (QPS, lost, rcodes, reloads, reload time) are
printed for the closing note."""

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
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402

DNSPERF = "/usr/bin/dnsperf"
CLIENT = "127.0.0.1"
RELOADS = 100
MIN_SECONDS = 30
STABLE = 2000      # listed names that never change (queried: NXDOMAIN)
TOGGLED = 400      # names added and removed between reloads (queried: either answer)
ALLOWED = 500      # never listed (queried: knotd's wildcard answer)


def blocked_name(i):
    return f"b{i}.wild.example.test"


def toggled_name(i):
    return f"t{i}.wild.example.test"


def allowed_name(i):
    return f"a{i}.wild.example.test"


def dnsperf_figures(out):
    """The numbers of dnsperf's summary."""
    def num(pattern):
        m = re.search(pattern, out)
        if not m:
            raise AssertionError(f"dnsperf output without {pattern!r}:\n{out}")
        return float(m.group(1))
    rcodes = dict((k, int(v)) for k, v in re.findall(r"\b([A-Z]+) (\d+) \(", out))
    return {"sent": int(num(r"Queries sent:\s+(\d+)")),
            "completed": int(num(r"Queries completed:\s+(\d+)")),
            "lost": int(num(r"Queries lost:\s+(\d+)")),
            "qps": num(r"Queries per second:\s+([\d.]+)"),
            "rcodes": rcodes}


class FaultReloadsTest(PolicyTestCase):
    def test_100_reloads_under_dnsperf_lose_nothing(self):
        if not os.access(DNSPERF, os.X_OK):
            raise RuntimeError(f"{DNSPERF} is missing (Debian package dnsperf)")
        sock_dir = tempfile.mkdtemp(prefix="sinkholed-fault1-")
        self.addCleanup(shutil.rmtree, sock_dir, True)
        sock = os.path.join(sock_dir, "control.sock")
        knot = self.start_knot()
        rng = random.Random(12)
        listed_toggles = set(range(0, TOGGLED, 2))

        def list_text():
            names = [blocked_name(i) for i in range(STABLE)]
            names += [toggled_name(i) for i in sorted(listed_toggles)]
            return "\n".join(names) + "\n"

        policy = f"""\
control:
  socket: "{sock}"
  watch_files: false
lists:
  churn: {{ path: churn.txt, category: gambling }}
policies:
  - name: all
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: churn, action: nxdomain }}]
"""
        s = self.start_policy_sinkholed([knot.upstream], policy, {"churn.txt": list_text()},
                                        workers=2, cache={"max_bytes": 64 << 20})
        # The answers before the run: blocked, allowed, a toggled name as listed.
        self.assertEqual(s.ask(CLIENT, blocked_name(7)).rcode, NXDOMAIN)
        self.assertEqual(s.ask(CLIENT, allowed_name(7)).rcode, NOERROR)
        status = json.loads(sinkholectl(sock, "status", "--json").stdout)
        gen0, failures0 = status["generation"], status["reload_failures"]

        queries = os.path.join(s.dir, "queries.txt")
        with open(queries, "w") as f:
            lines = ([f"{blocked_name(i)} A" for i in range(0, STABLE, 4)]
                     + [f"{toggled_name(i)} A" for i in range(TOGGLED)]
                     + [f"{allowed_name(i)} A" for i in range(ALLOWED)]
                     + [f"{allowed_name(i)} AAAA" for i in range(0, ALLOWED, 5)])
            rng.shuffle(lines)
            f.write("\n".join(lines) + "\n")
        # Run long enough for 100 reloads however slow the build; stopped with SIGINT once
        # they are done and at least MIN_SECONDS have passed (dnsperf then prints its
        # summary). The timeout is dnsperf's: a query without an answer in 5 s is lost.
        perf = subprocess.Popen(
            [DNSPERF, "-s", s.addr, "-p", str(s.port), "-d", queries, "-l", "600",
             "-c", "4", "-q", "64", "-Q", "3000", "-t", "5"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: perf.poll() is None and perf.kill())
        started = time.monotonic()
        durations = []
        by_signal = by_ctl = 0
        pace = (MIN_SECONDS - 6) / RELOADS
        for n in range(RELOADS):
            # A few names in, a few out: the list never shrinks by more than ~1%.
            for _ in range(3):
                i = rng.randrange(TOGGLED)
                listed_toggles.symmetric_difference_update({i})
            s.rewrite(files={"churn.txt": list_text()})
            t0 = time.monotonic()
            if n % 2 == 0:
                ok, text = s.reload(timeout=60)
                self.assertTrue(ok, f"reload {n} (SIGHUP) failed:\n{text}")
                by_signal += 1
            else:
                p = sinkholectl(sock, "reload", timeout=60)
                self.assertEqual(p.returncode, 0, f"reload {n} (sinkholectl): {p.stdout}{p.stderr}")
                self.assertRegex(p.stdout, r"^ok: generation \d+ in service")
                by_ctl += 1
            durations.append(time.monotonic() - t0)
            self.assertIsNone(perf.poll(), "dnsperf ended before the reloads did")
            wait = started + pace * (n + 1) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        # dnsperf calls a query lost only once its 5 s timeout has passed, and one still
        # outstanding at SIGINT is neither completed nor lost: keep the load on for longer
        # than the timeout after the last reload, so a query lost during any reload is seen.
        last_reload = time.monotonic()
        while time.monotonic() - started < MIN_SECONDS or time.monotonic() - last_reload < 6:
            time.sleep(0.2)
        perf.send_signal(signal.SIGINT)
        out, _ = perf.communicate(timeout=60)
        elapsed = time.monotonic() - started
        fig = dnsperf_figures(out)

        status = json.loads(sinkholectl(sock, "status", "--json").stdout)
        gens = status["generation"] - gen0
        failures = status["reload_failures"] - failures0
        durations.sort()
        print(f"\nfault 1: {elapsed:.1f} s of dnsperf, {fig['qps']:.0f} QPS, "
              f"{fig['sent']} sent, {fig['completed']} completed, {fig['lost']} lost, "
              f"rcodes {fig['rcodes']}; {by_signal} SIGHUP + {by_ctl} sinkholectl reloads, "
              f"generation +{gens}, reload_failures +{failures}, reload time median "
              f"{durations[len(durations) // 2] * 1000:.0f} ms, max {durations[-1] * 1000:.0f} ms",
              file=sys.stderr)

        self.assertGreaterEqual(elapsed, MIN_SECONDS)
        self.assertGreater(fig["sent"], 10 * MIN_SECONDS, out)
        self.assertEqual(fig["lost"], 0, out)
        # In flight at the interrupt: at most dnsperf's outstanding window (-q 64).
        self.assertLessEqual(fig["sent"] - fig["completed"], 64, out)
        self.assertEqual(fig["rcodes"].get("SERVFAIL", 0), 0, out)
        self.assertEqual(set(fig["rcodes"]) - {"NOERROR", "NXDOMAIN"}, set(), out)
        self.assertGreater(fig["rcodes"].get("NXDOMAIN", 0), 0, out)
        self.assertGreater(fig["rcodes"].get("NOERROR", 0), 0, out)
        self.assertEqual(gens, RELOADS)
        self.assertEqual(failures, 0)
        # The last list is the one in service.
        for i in range(0, TOGGLED, 37):
            want = NXDOMAIN if i in listed_toggles else NOERROR
            self.assertEqual(s.ask(CLIENT, toggled_name(i)).rcode, want, toggled_name(i))
        self.assertTrue(s.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
