# SPDX-License-Identifier: MIT
"""The HTTP listener (metrics.listen): /metrics in the Prometheus text format with the
values of a known set of queries (by transport, qtype, rcode; blocked by policy, list,
category and action; cache; per-upstream attempts and latency histogram; lists; reloads),
/explain as the warning page asks it, /healthz, 404/405; a metrics address that cannot be
bound fails the start; and the opt-in blocked-query log with truncated client addresses."""

import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import free_tcp_port  # noqa: E402

CLIENT_A = "127.0.0.2"
CLIENT_B = "127.0.0.3"

POLICY = """\
metrics:
  listen: "{addr}:{port}"
lists:
  casinos: {{ path: casinos.txt, category: gambling }}
  games: {{ path: games.txt, category: illegal-games, max_reject_ratio: 50% }}
actions:
  warning: {{ type: sinkhole, a: 203.0.113.10, ede_text: "Blocked ({{category}})" }}
policies:
  - name: everyone
    clients: ["0.0.0.0/0", "::/0"]
    block:
      - {{ list: casinos, action: warning }}
      - {{ list: games, action: nxdomain }}
"""

FILES = {"casinos.txt": "bet.metrics.test\n", "games.txt": "game.metrics.test\nbad-line!\n"}

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{(name, frozenset(labels.items())): value}, and {family: (type, help)}."""
    samples, families = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            families.setdefault(name, [None, None])[1] = help_text
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            families.setdefault(name, [None, None])[0] = typ
        elif line:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            labels = frozenset(LABEL.findall(m.group(3) or ""))
            key = (m.group(1), labels)
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(m.group(4))
    return samples, families


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class MetricsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def start(self, **kw):
        self.maddr = "127.0.0.1"
        self.mport = free_tcp_port(self.maddr)
        return self.start_policy_sinkholed(
            [self.knot.upstream], POLICY.format(addr=self.maddr, port=self.mport), FILES,
            cache={"max_bytes": "4MiB"}, **kw)

    def get(self, path, method="GET"):
        req = urllib.request.Request(f"http://{self.maddr}:{self.mport}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def scrape(self):
        status, ctype, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return parse_exposition(body)

    def test_metrics_count_a_known_set_of_queries(self):
        s = self.start()
        base, _ = self.scrape()  # the harness's readiness probes are counted too
        for src in (CLIENT_A, CLIENT_B):
            self.assertEqual(s.ask(src, "x.bet.metrics.test", "A").values("A"), ["203.0.113.10"])
        self.assertEqual(s.ask(CLIENT_A, "game.metrics.test", "AAAA").rcode, NXDOMAIN)
        for _ in range(2):
            self.assertEqual(s.ask(CLIENT_A, "www.example.test", "A").values("A"), ["192.0.2.1"])
        self.assertEqual(s.ask(CLIENT_A, "www.example.test", "MX", tcp=True).rcode, NOERROR)
        samples, families = self.scrape()

        # Every family has TYPE and HELP; counters end in _total.
        for name, (typ, help_text) in families.items():
            self.assertIsNotNone(typ, name)
            self.assertTrue(help_text, name)
            if typ == "counter":
                self.assertTrue(name.endswith("_total"), name)
        def delta(name, **labels):
            return value(samples, name, **labels) - value(base, name, **labels)
        self.assertEqual(delta("sinkholed_queries_total", transport="udp"), 5)
        self.assertEqual(delta("sinkholed_queries_total", transport="tcp"), 1)
        self.assertEqual(value(samples, "sinkholed_queries_by_type_total", qtype="A"), 4)
        self.assertEqual(value(samples, "sinkholed_queries_by_type_total", qtype="AAAA"), 1)
        self.assertEqual(value(samples, "sinkholed_queries_by_type_total", qtype="MX"), 1)
        self.assertEqual(value(samples, "sinkholed_answers_total", rcode="nxdomain"), 1)
        self.assertEqual(value(samples, "sinkholed_answers_total", rcode="noerror"), 5)
        self.assertEqual(value(samples, "sinkholed_blocked_total", policy="everyone",
                               list="casinos", category="gambling", action="warning"), 2)
        self.assertEqual(value(samples, "sinkholed_blocked_total", policy="everyone",
                               list="games", category="illegal-games", action="nxdomain"), 1)
        # Only (list, action) pairs a block can produce are series: games is never `warning`.
        self.assertIsNone(value(samples, "sinkholed_blocked_total", policy="everyone",
                                list="games", category="illegal-games", action="warning"))
        self.assertEqual(value(samples, "sinkholed_blocked_queries_total"), 3)
        self.assertEqual(value(samples, "sinkholed_cache_hits_total"), 1)
        self.assertGreaterEqual(value(samples, "sinkholed_cache_entries"), 2)
        self.assertGreater(value(samples, "sinkholed_cache_bytes"), 0)
        up = self.knot.upstream
        self.assertEqual(value(samples, "sinkholed_upstream_attempts_total", upstream=up), 2)
        self.assertEqual(value(samples, "sinkholed_upstream_latency_seconds_count", upstream=up),
                         2)
        self.assertEqual(value(samples, "sinkholed_upstream_latency_seconds_bucket", upstream=up,
                               le="+Inf"), 2)
        self.assertGreater(value(samples, "sinkholed_upstream_latency_seconds_sum", upstream=up),
                           0)
        self.assertEqual(families["sinkholed_upstream_latency_seconds"][0], "histogram")
        self.assertEqual(value(samples, "sinkholed_list_entries", list="games",
                               category="illegal-games"), 1)
        self.assertEqual(value(samples, "sinkholed_list_rejected_lines", list="games",
                               category="illegal-games"), 1)
        age = value(samples, "sinkholed_list_age_seconds", list="casinos", category="gambling")
        self.assertTrue(0 <= age < 120, age)
        self.assertEqual(value(samples, "sinkholed_snapshot_generation"), 1)
        self.assertEqual(value(samples, "sinkholed_reloads_total"), 0)
        self.assertGreater(value(samples, "sinkholed_last_reload_success_timestamp_seconds"),
                           time.time() - 120)
        self.assertEqual(value(samples, "sinkholed_workers"), 1)

    def test_reload_and_failure_counters(self):
        s = self.start()
        ok, _ = s.reload()
        self.assertTrue(ok)
        samples, _ = self.scrape()
        self.assertEqual(value(samples, "sinkholed_reloads_total"), 1)
        self.assertEqual(value(samples, "sinkholed_snapshot_generation"), 2)
        self.assertEqual(value(samples, "sinkholed_last_reload_ok"), 1)
        s.rewrite(raw=s.config_text().replace("policies:", "polices:"))
        ok, _ = s.reload()
        self.assertFalse(ok)
        samples, _ = self.scrape()
        self.assertEqual(value(samples, "sinkholed_reload_failures_total"), 1)
        self.assertEqual(value(samples, "sinkholed_last_reload_ok"), 0)
        self.assertEqual(value(samples, "sinkholed_snapshot_generation"), 2)
        # Counters by list survive a reload: still there, never reset.
        s.ask(CLIENT_A, "bet.metrics.test")
        samples, _ = self.scrape()
        self.assertEqual(value(samples, "sinkholed_blocked_total", policy="everyone",
                               list="casinos", category="gambling", action="warning"), 1)

    def test_explain_healthz_and_errors(self):
        self.start()
        status, ctype, body = self.get("/explain?name=www.bet.metrics.test&client=127.0.0.9")
        self.assertEqual((status, ctype), (200, "application/json"))
        doc = json.loads(body)
        self.assertEqual((doc["verdict"], doc["list"], doc["category"], doc["action"]),
                         ("blocked", "casinos", "gambling", "warning"))
        self.assertEqual(doc["rule"], "bet.metrics.test")
        self.assertEqual(doc["ede_text"], "Blocked (gambling)")
        self.assertEqual(doc["client"], "127.0.0.9")
        status, _, body = self.get("/explain?name=www.example.test")
        self.assertEqual(json.loads(body)["verdict"], "allowed")
        self.assertNotIn("file", doc)  # the server's paths are not for subscribers
        status, _, body = self.get("/explain")
        self.assertEqual(status, 400)
        # A second client= (e.g. pasted into a Host header by a proxy) is refused.
        self.assertEqual(self.get("/explain?name=bet.metrics.test&client=127.0.0.9"
                                  "&client=127.0.0.2")[0], 400)
        self.assertEqual(self.get("/explain?name=bet.metrics.test%26client%3D1")[0], 400)
        self.assertEqual(self.get("/explain?name=bet.metrics.test&client=nobody")[0], 400)
        status, _, body = self.get("/healthz")
        self.assertEqual((status, json.loads(body)["status"], json.loads(body)["reasons"]),
                         (200, "ok", []))
        self.assertEqual(self.get("/nope")[0], 404)
        self.assertEqual(self.get("/metrics", method="POST")[0], 405)

    def test_metrics_address_in_use_fails_the_start(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            s = PolicySinkholed([self.knot.upstream],
                                POLICY.format(addr="127.0.0.1", port=port), FILES)
            # No s.cleanup: it asserts a clean exit 0, and this start must fail (exit 1).
            with self.assertRaises(RuntimeError):
                s.start(timeout=3)
            self.assertIn(f"cannot listen on 127.0.0.1:{port} (metrics)", s.log_text())

    def test_blocked_query_log_truncates_clients(self):
        s = self.start(log={"blocked_queries": True, "client_address": "truncated"})
        before = s.log_size()
        s.ask(CLIENT_A, "www.bet.metrics.test", "AAAA")
        s.ask(CLIENT_A, "www.example.test", "A")  # allowed: not logged
        deadline = time.monotonic() + 3
        while "blocked name=" not in s.log_since(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [l for l in s.log_since(before).splitlines() if "blocked name=" in l]
        self.assertEqual(len(lines), 1, s.log_since(before))
        self.assertIn("blocked name=www.bet.metrics.test. qtype=AAAA policy=everyone list=casinos "
                      "category=gambling action=warning rcode=NOERROR line=1 "
                      "client=127.0.0.0/24", lines[0])
        self.assertNotIn(CLIENT_A + " ", lines[0])

    def test_blocked_query_log_escapes_names(self):
        # A listed name behind a label holding a newline and an ESC colour sequence: the
        # line stays one line and draws nothing on the reader's terminal.
        s = self.start(log={"blocked_queries": True})
        before = s.log_size()
        s.ask(CLIENT_A, r"a\010INJECTED\027[31m.www.bet.metrics.test", "A")
        deadline = time.monotonic() + 3
        while "blocked name=" not in s.log_since(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        log = s.log_since(before)
        lines = [l for l in log.splitlines() if "blocked name=" in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn("blocked name=a\\x0aINJECTED\\x1b[31m.www.bet.metrics.test. qtype=A ",
                      lines[0])
        self.assertNotIn("\x1b", log)
        self.assertFalse(any(l.startswith("INJECTED") for l in log.splitlines()), log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
