# SPDX-License-Identifier: MIT
"""What an operator troubleshoots with, against the real sinkholed and a real knotd.

`log.level: debug` writes a decision line per query (client, name, type, policy, blocked
by which list and action, or allowed and from the cache or upstream) and the upstream
choice, at most `log.debug_query_rate` a second with a "suppressed" line for the rest;
at info there is none. knotd killed: "upstream … is down" (warn) once, /healthz 503 with
the reason, `sinkholectl upstreams` and `status` (text and JSON) show it down with its last
error; knotd back: "upstream … is up again" (info) once, /healthz 200. Two upstreams, the
first killed: the failover to the second is logged once and the first shown down. A failed
reload (broken YAML): /healthz 503 naming it and `sinkholectl status` exits 1; a good one:
200 and exit 0."""

import json
import os
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NOERROR, NXDOMAIN, build_query  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port, unused_port_upstream  # noqa: E402

CLIENT = "127.0.0.2"


def policy_yaml(metrics_port):
    return f"""\
metrics:
  listen: "127.0.0.1:{metrics_port}"
control:
  watch_files: false
lists:
  names: {{ path: names.txt, category: gambling }}
policies:
  - name: subscribers
    clients: ["127.0.0.0/8"]
    block: [{{ list: names, action: nxdomain }}]
"""


class TroubleshootingTest(PolicyTestCase):
    def start(self, upstreams, **kw):
        self.metrics_port = free_tcp_port()
        return self.start_policy_sinkholed(upstreams, policy_yaml(self.metrics_port),
                                           {"names.txt": "bad.example.test\n"}, ipv6=False, **kw)

    def healthz(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.metrics_port}/healthz")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def ctl(self, s, *args):
        return sinkholectl(s.control_socket, *args)

    def wait_log(self, s, pattern, offset=0, timeout=20.0, each=None):
        """Waits until `pattern` appears in the log after `offset`, calling `each` (e.g. a
        query that keeps the upstream busy) between looks; the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, s.log_since(offset))
            if m:
                return m
            if time.monotonic() > deadline:
                self.fail(f"no /{pattern}/ in the log within {timeout}s:\n"
                          f"{s.log_since(offset)[-3000:]}")
            if each:
                each()
            time.sleep(0.1)

    def wait_ctl(self, s, pattern, *args, timeout=10.0):
        """Runs sinkholectl ARGS until its output matches (the health view is refreshed once
        a second); the output."""
        deadline = time.monotonic() + timeout
        while True:
            p = self.ctl(s, *args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            if re.search(pattern, p.stdout, re.M) or time.monotonic() > deadline:
                self.assertRegex(p.stdout, pattern)
                return p.stdout
            time.sleep(0.2)

    def wait_health(self, want_status, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.healthz()
            if status == want_status or time.monotonic() > deadline:
                return status, body
            time.sleep(0.2)

    def test_debug_level_logs_each_decision_rate_limited(self):
        knot = self.start_knot()
        s = self.start([knot.upstream], log_level="debug", cache={"max_bytes": "1MiB"},
                       log={"debug_query_rate": 5})
        time.sleep(1.1)  # a fresh second of the rate limit
        offset = s.log_size()
        self.assertEqual(s.ask(CLIENT, "bad.example.test").rcode, NXDOMAIN)
        self.assertEqual(s.ask(CLIENT, "www.example.test").rcode, NOERROR)
        self.assertEqual(s.ask(CLIENT, "www.example.test").rcode, NOERROR)
        q = rf"query from {re.escape(CLIENT)}#\d+ udp "
        self.wait_log(s, q + r"bad\.example\.test\.? type 1 policy subscribers: blocked by list "
                      r"names \(category gambling, action nxdomain, \S*names\.txt:1\)",
                      offset)
        self.wait_log(s, q + r"www\.example\.test\.? type 1 policy subscribers: allowed: cache "
                      r"miss, asking upstream", offset)
        self.wait_log(s, rf"upstream: asking {re.escape(knot.upstream)} for www\.example\.test\.? "
                      r"type 1 over udp", offset)
        self.wait_log(s, q + r"www\.example\.test\.? type 1 policy subscribers: allowed: cache "
                      r"hit", offset)
        # 40 more, in a second or two: 5 lines a second pass, the rest are counted, and the
        # count is written at the next line after its second (the 41st query's).
        time.sleep(1.1)
        offset = s.log_size()
        for _ in range(40):
            s.ask(CLIENT, "www.example.test")
        time.sleep(1.1)
        s.ask(CLIENT, "www.example.test")
        self.wait_log(s, r"debug: \d+ per-query line\(s\) suppressed in the last second "
                      r"\(log\.debug_query_rate: 5 a second per worker\)", offset)
        s.stats()  # everything the queries logged is in by now
        log = s.log_since(offset)
        lines = log.count("query from")
        suppressed = sum(int(n) for n in re.findall(r"debug: (\d+) per-query line", log))
        self.assertEqual(lines + suppressed, 41, log[-3000:])
        self.assertLessEqual(lines, 15)
        self.assertGreaterEqual(suppressed, 25)

    def test_info_level_writes_no_decision_line(self):
        knot = self.start_knot()
        s = self.start([knot.upstream])
        offset = s.log_size()
        for _ in range(5):
            self.assertEqual(s.ask(CLIENT, "bad.example.test").rcode, NXDOMAIN)
            self.assertEqual(s.ask(CLIENT, "www.example.test").rcode, NOERROR)
        s.stats()  # a line after the queries: everything they logged is in by now
        self.assertNotIn("query from", s.log_since(offset))
        self.assertNotIn("upstream: asking", s.log_since(offset))

    def test_upstream_down_and_up_in_log_healthz_upstreams_and_status(self):
        knot = self.start_knot()
        s = self.start([knot.upstream], upstream={"timeout": "300ms", "deadline": "600ms"})
        status, body = self.wait_health(200)
        self.assertEqual((status, body["status"], body["reasons"]), (200, "ok", []), body)
        self.assertEqual(s.ask(CLIENT, "www.example.test").rcode, NOERROR)
        self.wait_ctl(s, rf"^{re.escape(knot.upstream)}\s+up\s+for\s+\d+ s  rtt\s+[\d.]+ ms  "
                      r"queries 1 answers 1 timeouts 0 errors 0\n", "upstreams")

        counter = iter(range(1_000_000))

        def ask_new():
            s.raw_from(CLIENT, build_query(f"n{next(counter)}.example.test", "A"), timeout=1.0)

        offset = s.log_size()
        knot.kill()
        m = self.wait_log(s, rf"warning upstream {re.escape(knot.upstream)} is down: (\d+) failed "
                          r"attempt\(s\) and no answer for [\d.]+ s \(last error: ([a-z ]+)\); "
                          r"no upstream is up: clients get stale answers or SERVFAIL",
                          offset, each=ask_new)
        self.assertGreaterEqual(int(m.group(1)), 3)
        self.assertIn(m.group(2), ("timeout", "socket error"))
        status, body = self.wait_health(503)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["status"], "unhealthy")
        self.assertEqual([r["check"] for r in body["reasons"]], ["upstreams"])
        self.assertEqual(body["reasons"][0]["message"], "no upstream is up (all 1 down)")

        p = self.ctl(s, "upstreams")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rf"^{re.escape(knot.upstream)}\s+DOWN for\s+\d+ s  rtt\s+"
                         r"[\d.]+ ms  queries \d+ answers 1 timeouts \d+ errors \d+  last error "
                         r"(timeout|socket error) \d+ s ago")
        p = self.ctl(s, "upstreams", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        row = json.loads(p.stdout)[0]
        self.assertEqual((row["address"], row["state"], row["answers"]),
                         (knot.upstream, "down", 1))
        self.assertIn(row["last_error"]["error"], ("timeout", "socket error"))
        self.assertGreaterEqual(row["timeouts"] + row["errors"], 3)
        self.assertGreater(row["rtt_ms"], 0)
        p = self.ctl(s, "status")
        self.assertEqual(p.returncode, 0, p.stderr)  # a down upstream is not a failed reload
        self.assertRegex(p.stdout, rf"upstreams:\n  {re.escape(knot.upstream)}\s+DOWN ")
        p = self.ctl(s, "status", "--json")
        self.assertEqual(json.loads(p.stdout)["upstreams"][0]["state"], "down")

        offset = s.log_size()
        knot.restart()
        self.wait_log(s, rf"info upstream {re.escape(knot.upstream)} is up again: answered "
                      r"after [\d.]+ s down", offset, each=ask_new)
        status, body = self.wait_health(200)
        self.assertEqual((status, body["reasons"]), (200, []), body)
        # Once per change: more queries, no second line either way.
        for _ in range(10):
            ask_new()
        time.sleep(1.5)
        log = s.log_since(offset)
        self.assertEqual(log.count("is up again"), 1, log)
        self.assertEqual(log.count("is down"), 0, log)

    def test_failover_to_the_second_upstream_is_logged_once(self):
        knot = self.start_knot()
        other = self.start_knot()
        s = self.start([knot.upstream, other.upstream],
                       upstream={"timeout": "300ms", "deadline": "900ms"})
        self.assertEqual(s.ask(CLIENT, "www.example.test").rcode, NOERROR)
        counter = iter(range(1_000_000))

        def ask_new():
            s.raw_from(CLIENT, build_query(f"f{next(counter)}.example.test", "A"), timeout=1.5)

        offset = s.log_size()
        knot.kill()
        self.wait_log(s, rf"info upstream failover: queries go to {re.escape(other.upstream)} "
                      rf"first now \(was {re.escape(knot.upstream)}", offset, each=ask_new)
        self.wait_log(s, rf"warning upstream {re.escape(knot.upstream)} is down: .*; queries fail "
                      rf"over to {re.escape(other.upstream)}", offset, each=ask_new)
        status, body = self.healthz()
        self.assertEqual(status, 200, body)  # the second one serves
        self.assertEqual(body["upstreams_up"], 1)
        log = s.log_since(offset)
        self.assertEqual(log.count("upstream failover"), 1, log)

    def test_failed_reload_makes_healthz_503_and_status_exit_1(self):
        up_addr, up_port = unused_port_upstream()
        s = self.start([f"{up_addr}:{up_port}"])
        status, body = self.wait_health(200)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.ctl(s, "status").returncode, 0)

        with open(s.config_path) as f:
            good = f.read()
        s.rewrite(raw=good + "lists: [broken\n")
        ok, _ = s.reload()
        self.assertFalse(ok)
        status, body = self.healthz()
        self.assertEqual(status, 503, body)
        self.assertEqual([r["check"] for r in body["reasons"]], ["reload"])
        self.assertIn("the last reload failed (policy generation 1 still in service): ",
                      body["reasons"][0]["message"])
        p = self.ctl(s, "status")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("last reload FAILED", p.stdout)
        self.assertEqual(self.ctl(s, "status", "--json").returncode, 1)

        s.rewrite(raw=good)
        ok, _ = s.reload()
        self.assertTrue(ok)
        status, body = self.healthz()
        self.assertEqual((status, body["status"]), (200, "ok"), body)
        self.assertGreaterEqual(body["generation"], 2)
        self.assertEqual(self.ctl(s, "status").returncode, 0)


if __name__ == "__main__":
    unittest.main()
