# SPDX-License-Identifier: MIT
"""The real Prometheus (Debian's package) scrapes sinkholed on loopback while known clients
(several 127.0.0.x addresses) ask known names; through Prometheus's HTTP API the test then
reads blocked queries by category and the protected-user counts per category, and checks
that every metric the shipped Grafana dashboard uses exists in what Prometheus stored."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from metric_refs import EVENT_METRICS, dashboard_metrics  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port  # noqa: E402

GAMBLERS = [f"127.0.0.{i}" for i in range(2, 12)]   # 10 distinct clients
GAMERS = [f"127.0.0.{i}" for i in range(2, 5)]      # 3 of them also hit a game site
BYSTANDER = "127.0.0.30"                             # only allowed names: protects no one

POLICY = """\
metrics:
  listen: "127.0.0.1:{port}"
lists:
  casinos: {{ path: casinos.txt, category: gambling }}
  games: {{ path: games.txt, category: illegal-games }}
policies:
  - name: everyone
    clients: ["0.0.0.0/0", "::/0"]
    block:
      - {{ list: casinos, action: nxdomain }}
      - {{ list: games, action: nodata }}
"""


class PrometheusTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def start_prometheus(self, target):
        d = tempfile.mkdtemp(prefix="sinkholed-prom-")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sinkholed\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        self.prom_port = free_tcp_port()
        log = open(os.path.join(d, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={d}/data",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(20)))
        self.prom_log = os.path.join(d, "prometheus.log")
        return proc

    def query(self, expr):
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        self.assertEqual(doc["status"], "success", doc)
        return {tuple(sorted(x["metric"].items())): float(x["value"][1])
                for x in doc["data"]["result"]}

    def wait_for(self, expr, want, timeout=60):
        """Polls until `expr` gives `want` ({label value: number}); returns the last result."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            try:
                got = {dict(k).get("category", ""): v for k, v in self.query(expr).items()}
                if got == want:
                    return got
            except OSError:
                pass  # Prometheus still starting
            time.sleep(0.5)
        with open(self.prom_log, "rb") as f:
            log = f.read().decode(errors="replace")[-2000:]
        self.assertEqual(got, want, f"{expr}; prometheus log:\n{log}")

    def test_blocked_by_category_and_protected_users_through_prometheus(self):
        port = free_tcp_port()
        files = {"casinos.txt": "bet.prom.test\ncasino.prom.test\n", "games.txt": "game.prom.test\n"}
        s = self.start_policy_sinkholed([self.knot.upstream], POLICY.format(port=port), files)
        blocked_gambling = blocked_games = 0
        for src in GAMBLERS:
            for name in ("bet.prom.test", "www.casino.prom.test", "bet.prom.test"):
                self.assertEqual(s.ask(src, name).rcode, NXDOMAIN)
                blocked_gambling += 1
        for src in GAMERS:
            self.assertEqual(s.ask(src, "x.game.prom.test", "AAAA").answer, [])
            blocked_games += 1
        for _ in range(5):
            self.assertEqual(s.ask(BYSTANDER, "www.example.test").rcode, NOERROR)

        self.start_prometheus(f"127.0.0.1:{port}")
        self.wait_for("sum by (category) (sinkholed_blocked_total)",
                      {"gambling": blocked_gambling, "illegal-games": blocked_games})
        self.wait_for('sinkholed_protected_users{window="1h"}',
                      {"gambling": len(GAMBLERS), "illegal-games": len(GAMERS)})
        self.wait_for('sinkholed_protected_users{window="24h"}',
                      {"gambling": len(GAMBLERS), "illegal-games": len(GAMERS)})
        total = self.query("sinkholed_blocked_queries_total")
        self.assertEqual(list(total.values()), [blocked_gambling + blocked_games])

        # The dashboard only uses metrics that exist. This daemon has no RPZ or HTTP list
        # and no failure: the series only those make are checked by test_alert_rules.py,
        # whose nodes make every one of them.
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.prom_port}/api/v1/label/__name__/values", timeout=5) as r:
            stored = set(json.load(r)["data"])
        missing = {m for m in dashboard_metrics()
                   if m not in stored and m + "_bucket" not in stored}
        self.assertEqual(missing - set(EVENT_METRICS), set(),
                         "metrics used by deploy/grafana/sinkholed.json")
        self.assertIn("sinkholed_protected_users", stored)


if __name__ == "__main__":
    unittest.main(verbosity=2)
