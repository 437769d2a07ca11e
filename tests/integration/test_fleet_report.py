#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fleet-wide protected users (issue 15): three real sinkholed nodes share one
protected_users.key_file; 30,000 distinct clients (loopback addresses 127.B.x.y, one UDP
socket bound to each) send a blocked query to overlapping subsets of the nodes. Each node
exports its sketches on GET /protected-users/sketches (no client address in them);
`sinkholectl fleet-report` merges them: the merged count is within 2% of the true union
and far from the sum of the nodes' counts, in --json, --csv and the table. A fourth node
with another key makes the merge refused (exit 1, the nodes named); an unreachable node
fails the report (exit 2) unless --allow-missing. A key file others may read, or one that
is not 32 hex digits, stops the start (and --check) at the key's file:line:column."""

import csv
import io
import json
import os
import random
import select
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from ctl import sinkholectl_binary
from dnswire import build_query
from policy_harness import PolicySinkholed, PolicyTestCase
from processes import free_tcp_port, sinkholed_binary, unused_port_upstream

TOTAL = 30_000
# Which clients (by index) each node sees: overlapping ranges, the union is all of them.
RANGES = {
    "node-a": [(0, 18_000)],
    "node-b": [(10_000, 25_000)],
    "node-c": [(16_000, 30_000), (0, 3_000)],
}
# A second category: clients 0..1999 blocked on node-a and node-b alike.
MALWARE_CLIENTS = 2_000
MALWARE_NODES = ("node-a", "node-b")
BATCH = 250  # sockets at once: replies are read before the next batch is sent

# The second octet of the client addresses: one /16 chosen per run.
_B = random.SystemRandom().randrange(100, 250)


def client_addr(i):
    return f"127.{_B}.{1 + i // 250}.{1 + i % 250}"


def sees(node, i):
    return any(lo <= i < hi for lo, hi in RANGES[node])


def policy_yaml(metrics_port, key_file):
    return (
        "metrics:\n"
        f"  listen: \"127.0.0.1:{metrics_port}\"\n"
        "protected_users:\n"
        f"  key_file: \"{key_file}\"\n"
        "lists:\n"
        "  gambling:\n"
        "    path: gambling.txt\n"
        "  malware:\n"
        "    path: malware.txt\n"
        "policies:\n"
        "  - name: everyone\n"
        "    clients: [127.0.0.0/8]\n"
        "    block: [gambling, malware]\n")


FILES = {"gambling.txt": "casino.fleet.test\n", "malware.txt": "bad.fleet.test\n"}


def write_key(path, hex_key, mode=0o600):
    with open(path, "w") as f:
        f.write(hex_key + "\n")
    os.chmod(path, mode)


def send_from_clients(jobs):
    """jobs: [(client index, [(query bytes, (addr, port)), ...])], the queries of one client
    with distinct IDs. Every query gets its
    answer (resent up to 6 times to whoever did not answer). Returns the number sent."""
    sent = 0
    for start in range(0, len(jobs), BATCH):
        socks = {}
        pending = {}
        for i, queries in jobs[start:start + BATCH]:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind((client_addr(i), 0))
            socks[s.fileno()] = s
            # By destination and ID: a client may ask one node two names.
            pending[s.fileno()] = {(dst, q[:2]): q for q, dst in queries}
        for attempt in range(6):
            for fd, want in pending.items():
                for (dst, _), q in want.items():
                    socks[fd].sendto(q, dst)
                    sent += 1
            poller = select.poll()
            for fd in pending:
                poller.register(fd, select.POLLIN)
            deadline = time.monotonic() + 1.0 + 2.0 * attempt
            while pending and time.monotonic() < deadline:
                for fd, _ in poller.poll(200):
                    while True:
                        try:
                            reply, src = socks[fd].recvfrom(4096)
                        except BlockingIOError:
                            break
                        want = pending.get(fd)
                        if want is not None:
                            want.pop((src, reply[:2]), None)
                            if not want:
                                del pending[fd]
                                poller.unregister(fd)
                                break
            if not pending:
                break
        for s in socks.values():
            s.close()
        if pending:
            raise AssertionError(f"{len(pending)} clients got no answer after 6 attempts")
    return sent


class FleetReportTest(PolicyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fleet-key-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.key_file = os.path.join(cls.tmp, "fleet.key")
        write_key(cls.key_file, os.urandom(16).hex())
        cls.other_key = os.path.join(cls.tmp, "other.key")
        write_key(cls.other_key, os.urandom(16).hex())
        dead = "%s:%d" % unused_port_upstream()
        cls.nodes = {}
        for name in list(RANGES) + ["node-d"]:
            port = free_tcp_port()
            key = cls.other_key if name == "node-d" else cls.key_file
            s = PolicySinkholed([dead], policy_yaml(port, key), dict(FILES),
                                server={"identity": name}, ipv6=False)
            cls.addClassCleanup(s.cleanup)
            s.start(timeout=30)
            s.metrics_url = f"http://127.0.0.1:{port}"
            cls.nodes[name] = s
        # Fixed IDs tell the answers apart (send_from_clients).
        gambling = b"\x00\x01" + build_query("casino.fleet.test.", "A")[2:]
        malware = b"\x00\x02" + build_query("bad.fleet.test.", "A")[2:]
        jobs = []
        for i in range(TOTAL):
            queries = [(gambling, (cls.nodes[n].addr, cls.nodes[n].port))
                       for n in RANGES if sees(n, i)]
            if i < MALWARE_CLIENTS:
                queries += [(malware, (cls.nodes[n].addr, cls.nodes[n].port))
                            for n in MALWARE_NODES]
            if i < 500:  # node-d, of another key, sees a few
                queries.append((gambling, (cls.nodes["node-d"].addr, cls.nodes["node-d"].port)))
            jobs.append((i, queries))
        t0 = time.monotonic()
        cls.sent = send_from_clients(jobs)
        cls.send_seconds = time.monotonic() - t0
        cls.truth = {n: sum(1 for i in range(TOTAL) if sees(n, i)) for n in RANGES}

    def fleet_report(self, *args, nodes=("node-a", "node-b", "node-c")):
        argv = [sinkholectl_binary(), "fleet-report"]
        for n in nodes:
            argv += ["--node", self.nodes[n].metrics_url if n in self.nodes else n]
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def sketches(self, name):
        with urllib.request.urlopen(self.nodes[name].metrics_url + "/protected-users/sketches",
                                    timeout=10) as r:
            self.assertEqual(r.headers["Content-Type"], "application/json")
            return r.read().decode()

    def test_endpoint_document(self):
        text = self.sketches("node-a")
        doc = json.loads(text)
        self.assertEqual(doc["format"], "sinkholed-protected-users-sketches")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["node"], "node-a")
        self.assertEqual(doc["precision"], 14)
        self.assertEqual(doc["key_source"], "file")
        self.assertRegex(doc["key_fingerprint"], r"^[0-9a-f]{16}$")
        self.assertLess(abs(doc["generated_unix"] - time.time()), 60)
        cats = {c["category"]: c for c in doc["categories"]}
        self.assertEqual(set(cats), {"gambling", "malware"})
        hour = cats["gambling"]["windows"]["last_hour"]
        self.assertEqual(hour["encoding"], "dense")  # 18,000 clients: most registers set
        self.assertAlmostEqual(hour["estimate"], self.truth["node-a"],
                               delta=0.03 * self.truth["node-a"])
        self.assertEqual(cats["malware"]["windows"]["last_day"]["encoding"], "sparse")
        # No client address in it (not even the /16 they came from), and bounded.
        self.assertNotIn(f"127.{_B}.", text)
        self.assertLess(len(text), 4 * 22_000 + 2_000)
        # Same key file → same fingerprint; another key → another one.
        fp = {n: json.loads(self.sketches(n))["key_fingerprint"] for n in self.nodes}
        self.assertEqual(fp["node-a"], fp["node-b"])
        self.assertEqual(fp["node-a"], fp["node-c"])
        self.assertNotEqual(fp["node-a"], fp["node-d"])

    def test_merged_count_is_the_union(self):
        r = self.fleet_report("--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertEqual([n["node"] for n in report["nodes"]], ["node-a", "node-b", "node-c"])
        self.assertEqual(report["missing"], [])
        rows = {(x["category"], x["window"]): x for x in report["rows"]}
        self.assertEqual(set(rows), {("gambling", "last_hour"), ("gambling", "last_day"),
                                     ("malware", "last_hour"), ("malware", "last_day")})
        true_sum = sum(self.truth.values())
        for window in ("last_hour", "last_day"):
            row = rows[("gambling", window)]
            merged = row["fleet_distinct_clients"]
            print(f"\nfleet-report gambling {window}: merged {merged}, true union {TOTAL}, "
                  f"sum of nodes {row['sum_of_nodes']} (true sum {true_sum}); per node "
                  f"{row['per_node']} (true {self.truth}); {self.sent} queries sent in "
                  f"{self.send_seconds:.1f} s")
            self.assertLess(abs(merged - TOTAL), 0.02 * TOTAL, row)
            self.assertEqual(row["nodes_merged"], 3)
            self.assertAlmostEqual(row["sum_of_nodes"], true_sum, delta=0.03 * true_sum)
            # Far from the sum: the 20,000 clients seen twice or more count once.
            self.assertLess(merged, 0.7 * row["sum_of_nodes"])
            for n, true in self.truth.items():
                self.assertAlmostEqual(row["per_node"][n], true, delta=0.03 * true)
        mw = rows[("malware", "last_hour")]
        self.assertLess(abs(mw["fleet_distinct_clients"] - MALWARE_CLIENTS),
                        0.03 * MALWARE_CLIENTS, mw)
        # node-c has the list but blocked nothing of it: an empty sketch, merged as such.
        self.assertEqual(mw["per_node"]["node-c"], 0)
        self.assertEqual(mw["nodes_merged"], 3)
        self.assertGreater(mw["sum_of_nodes"], 1.9 * MALWARE_CLIENTS)

    def test_csv_and_table(self):
        r = self.fleet_report("--csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual(list(rows[0].keys()),
                         ["category", "window", "fleet_distinct_clients", "sum_of_nodes",
                          "nodes_merged", "node-a", "node-b", "node-c"])
        by = {(x["category"], x["window"]): x for x in rows}
        self.assertLess(abs(int(by[("gambling", "last_day")]["fleet_distinct_clients"]) - TOTAL),
                        0.02 * TOTAL)
        self.assertEqual(by[("malware", "last_hour")]["node-c"], "0")
        t = self.fleet_report("--timeout", "20")
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn("3 nodes merged", t.stdout)
        header = next(line for line in t.stdout.splitlines() if line.startswith("category"))
        self.assertEqual(header.split(),
                         ["category", "window", "fleet", "node-a", "node-b", "node-c", "sum",
                          "of", "nodes", "nodes", "merged"])
        line = next(line for line in t.stdout.splitlines()
                    if line.startswith("gambling") and "last_hour" in line).split()
        self.assertLess(abs(int(line[2]) - TOTAL), 0.02 * TOTAL)
        self.assertEqual(line[-1], "3")
        # The endpoint's own URL works as well as the base URL.
        e = self.fleet_report("--json", nodes=(
            self.nodes["node-a"].metrics_url + "/protected-users/sketches", "node-b"))
        self.assertEqual(e.returncode, 0, e.stderr)

    def test_different_key_refused(self):
        r = self.fleet_report("--json", nodes=("node-a", "node-b", "node-c", "node-d"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("refused", r.stderr)
        self.assertIn("2 different keys", r.stderr)
        self.assertIn(f"node-d ({self.nodes['node-d'].metrics_url}/protected-users/sketches)",
                      r.stderr)
        self.assertIn("node-a (", r.stderr)
        self.assertIn("protected_users.key_file", r.stderr)

    def test_unreachable_node(self):
        dead = f"http://127.0.0.1:{free_tcp_port()}"
        r = self.fleet_report(nodes=("node-a", dead))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(dead, r.stderr)
        self.assertIn("--allow-missing", r.stderr)
        ok = self.fleet_report("--json", "--allow-missing", nodes=("node-a", dead))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        report = json.loads(ok.stdout)
        self.assertEqual(report["missing"][0]["url"], dead + "/protected-users/sketches")
        self.assertEqual(len(report["nodes"]), 1)

    def test_bad_key_file_stops_the_start(self):
        def check(key_text, mode, expect):
            d = tempfile.mkdtemp(prefix="fleet-badkey-")
            self.addCleanup(shutil.rmtree, d, True)
            key = os.path.join(d, "k.key")
            if key_text is not None:
                write_key(key, key_text, mode)
            cfg = os.path.join(d, "sinkholed.yaml")
            with open(cfg, "w") as f:
                f.write(f"upstreams: [127.0.0.1]\ncontrol:\n  socket: \"\"\n"
                        f"server:\n  runtime_dir: {d}/run\n  state_dir: {d}/state\n"
                        f"protected_users:\n  key_file: k.key\n")
            r = subprocess.run([sinkholed_binary(), "--check", "--config", cfg],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"{cfg}:8:13: protected_users.key_file {key}: ", r.stderr)
            self.assertIn(expect, r.stderr)
        check(os.urandom(16).hex(), 0o644, "lets others read or write it")
        check(os.urandom(8).hex(), 0o600, "16 hex digits, not 32")
        check("not a key at all", 0o600, "not a hex digit")
        check(None, 0, "No such file")


if __name__ == "__main__":
    unittest.main(verbosity=2)
