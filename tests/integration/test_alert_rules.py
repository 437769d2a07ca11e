# SPDX-License-Identifier: MIT
"""The fleet's Prometheus alert rules (deploy/fleet/prometheus/alerts.yml) and the Grafana
dashboard (deploy/grafana/sinkholed.json):
- `promtool check rules` accepts the rules and `promtool test rules` passes alerts_test.yml,
  which has, for every alert, a case where it fires and one where it must not;
- every alert has a severity, a summary, a description and a runbook hint whose section
  exists in deploy/fleet/ALERTS.md;
- the dashboard is valid JSON with unique panel ids, and every one of its PromQL queries
  parses (promtool checks it as a recording rule);
- every metric name the rules and the dashboard use exists in the /metrics of live sinkholed
  nodes (an RPZ list fed by a real knotd primary with TSIG, a file list, an HTTP list and an
  RPZ list whose primary is dead), once each series that only appears after an event
  (metric_refs.EVENT_METRICS) has been made to appear;
- the real Prometheus, scraping two such nodes with these rules (the `for:` holds set to 0,
  expressions unchanged), fires SinkholedFeedBehind for the node the primary does not NOTIFY
  once the primary changes, SinkholedListReloadFailed, SinkholedFeedTransferFailing and
  SinkholedUpstreamDown where those happen, none of the others, and SinkholedDown for a
  stopped node; every dashboard query runs there, and the fleet panels show each node's
  serial, how far behind it is, both nodes' QPS, the nodes up and the alerts firing."""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NXDOMAIN  # noqa: E402
from metric_refs import (ALERT_RULES, ALERT_TESTS, ALERTS_DOC, DASHBOARDS,  # noqa: E402
                         EVENT_METRICS, dashboard_exprs, dashboard_metrics, dashboard_panels,
                         exposition_names, load_rules, rule_metrics)
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import (free_tcp_port, random_loopback, scrape_metrics,  # noqa: E402
                       unused_port_upstream)
from test_rpz_secondary import PrimaryKnot, rpz_list_yaml, sanitizer_factor  # noqa: E402

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
CLIENTS = [f"127.0.0.{i}" for i in range(2, 6)]


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def anchor(title):
    """GitHub's anchor for a Markdown heading."""
    keep = "".join(c for c in title.strip().lower() if c.isalnum() or c in " -_")
    return keep.replace(" ", "-")


class AlertRulesFilesTest(unittest.TestCase):
    def test_promtool_check_rules(self):
        p = promtool("check", "rules", ALERT_RULES)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(f"SUCCESS: {len(load_rules())} rules found", p.stdout)

    def test_promtool_unit_tests_pass_and_cover_every_alert_both_ways(self):
        p = promtool("test", "rules", ALERT_TESTS)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)
        with open(ALERT_TESTS) as f:
            tests = yaml.safe_load(f)["tests"]
        fires, quiet = set(), set()
        for case in tests:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
        alerts = {r["alert"] for r in load_rules()}
        self.assertEqual(alerts - fires, set(), "alerts with no test where they fire")
        self.assertEqual(alerts - quiet, set(), "alerts with no test where they stay quiet")

    def test_every_alert_is_labelled_annotated_and_documented(self):
        with open(ALERTS_DOC) as f:
            doc = f.read()
        headings = {anchor(line.lstrip("#")) for line in doc.splitlines()
                    if line.startswith("#")}
        names = [r["alert"] for r in load_rules()]
        self.assertEqual(len(names), len(set(names)), "alert names repeat")
        self.assertIn("SinkholedFeedBehind", names)  # the name the fleet issue agreed on
        for rule in load_rules():
            name = rule["alert"]
            self.assertIn(rule["labels"].get("severity"), ("warning", "critical"), name)
            ann = rule["annotations"]
            for key in ("summary", "description", "runbook"):
                self.assertTrue(ann.get(key), f"{name}: no {key}")
            self.assertIn("$labels.instance", ann["summary"] + ann["description"], name)
            self.assertTrue(ann["runbook"].startswith(f"deploy/fleet/ALERTS.md#{name.lower()}"),
                            f"{name}: runbook {ann['runbook']}")
            self.assertIn(name.lower(), headings, f"{name}: no section in ALERTS.md")

    def test_dashboard_is_valid_and_every_query_parses(self):
        rules = []
        for path in DASHBOARDS:
            with open(path) as f:
                dash = json.load(f)
            panels = dashboard_panels(dash)
            ids = [p["id"] for p in panels]
            self.assertEqual(len(ids), len(set(ids)), f"{path}: panel ids repeat")
            names = {v["name"] for v in dash["templating"]["list"]}
            self.assertIn("instance", names)
            fleet_row = False
            for p in panels:
                self.assertIn("gridPos", p, p.get("title"))
                fleet_row |= p["type"] == "row" and p["title"].startswith("Fleet")
                if p["type"] != "row":
                    self.assertTrue(p.get("targets"), p.get("title"))
                    # The fleet views say what they show and which alert watches it.
                    if fleet_row:
                        self.assertTrue(p.get("description"), p.get("title"))
            self.assertTrue(fleet_row, f"{path}: no Fleet row")
            for title, expr in dashboard_exprs(path):
                if expr.startswith("label_values("):
                    expr = expr[len("label_values("):].rsplit(",", 1)[0]
                # Grafana's variables, as Prometheus would get them.
                expr = expr.replace("$instance", ".*").replace("$__rate_interval", "5m")
                self.assertNotIn("$", expr, f"{title}: a variable left in {expr}")
                rules.append({"record": f"dashboard:check:{len(rules)}", "expr": expr})
            titles = [p.get("title", "") for p in panels]
            for want in ("Feed serial per node and list", "Feed serials behind the fleet's newest",
                         "Time to enforce per node", "SERVFAIL ratio: per node and fleet"):
                self.assertIn(want, titles)
        d = tempfile.mkdtemp(prefix="dashboard-promql-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "rules.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        p = promtool("check", "rules", path)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_protected_users_are_never_summed_as_a_fleet_figure(self):
        # A subscriber seen by two nodes counts once on each: a sum is only an upper bound,
        # and the panel showing it must say so and name the exact tool.
        for path in DASHBOARDS:
            with open(path) as f:
                panels = dashboard_panels(json.load(f))
            for p in panels:
                for t in p.get("targets", []):
                    if "sinkholed_protected_users" in t["expr"] and "sum" in t["expr"]:
                        self.assertIn("at most", t["legendFormat"], p["title"])
                        self.assertIn("fleet-report", p["description"], p["title"])


class ListServer:
    """A plain HTTP server on loopback serving one directory (an HTTP list source)."""

    def __init__(self, directory):
        self.addr = random_loopback()
        self.port = free_tcp_port(self.addr)
        handler = lambda *a, **kw: QuietHandler(*a, directory=directory, **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer((self.addr, self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def node_policy(primary, metrics_port, casinos=True, http_list=None, dead_primary=None):
    lists = [f"  mic: {rpz_list_yaml(primary)}"]
    block = ["{ list: mic, action: nxdomain }"]
    if casinos:
        lists.append("  casinos: { path: casinos.txt, category: gambling }")
        block.append("{ list: casinos, action: nxdomain }")
    if http_list:
        lists.append(f'  urlhaus: {{ url: "{http_list}", category: malware }}')
        block.append("{ list: urlhaus, action: nxdomain }")
    if dead_primary:
        lists.append(f"  cutoff: {rpz_list_yaml(dead_primary, zone='cutoff.rpz')}")
        block.append("{ list: cutoff, action: nxdomain }")
    return ("lists:\n" + "\n".join(lists) + "\npolicies:\n  - name: everyone\n"
            '    clients: ["127.0.0.0/8", "::1/128"]\n'
            f"    block: [{', '.join(block)}]\n"
            f'metrics:\n  listen: "127.0.0.1:{metrics_port}"\n')


class LiveFleetMetricsTest(PolicyTestCase):
    """Two nodes fed by one knotd primary; node B is left out of its NOTIFY list."""

    @classmethod
    def setUpClass(cls):
        cls.factor = sanitizer_factor()
        cls.primary = PrimaryKnot.for_class(cls, ["old.example"])
        cls.upstream = cls.class_knot()
        cls.www = tempfile.mkdtemp(prefix="sinkholed-lists-")
        cls.addClassCleanup(shutil.rmtree, cls.www, True)
        with open(os.path.join(cls.www, "urlhaus.txt"), "w") as f:
            f.write("malware.alerts.test\n")
        cls.lists = ListServer(cls.www)
        cls.addClassCleanup(cls.lists.stop)
        dead_addr, dead_port = unused_port_upstream()
        dead_primary = random_loopback()
        primary = cls.primary.where
        files = {"feed.key": cls.primary.key_text}

        cls.mport_a = free_tcp_port()
        cls.dead_upstream = f"{dead_addr}:{dead_port}"
        cls.a = PolicySinkholed(
            [cls.upstream.upstream, cls.dead_upstream],
            node_policy(primary, cls.mport_a,
                        http_list=f"http://{cls.lists.addr}:{cls.lists.port}/urlhaus.txt",
                        dead_primary=f"{dead_primary}:{free_tcp_port(dead_primary)}"),
            {**files, "casinos.txt": "bet.alerts.test\ncasino.alerts.test\n"})
        cls.addClassCleanup(cls.a.cleanup)
        cls.a.start(timeout=20)
        cls.mport_b = free_tcp_port()
        cls.b = PolicySinkholed(["%s:%d" % unused_port_upstream()],
                                node_policy(primary, cls.mport_b, casinos=False), files)
        cls.addClassCleanup(cls.b.cleanup)
        cls.b.start(timeout=20)
        # The first transfer is awaited on /metrics, not by asking: a name asked before
        # the list is loaded goes to the upstreams (B's is dead), and the alerts would
        # then rightly say so.
        for port in (cls.mport_a, cls.mport_b):
            cls.wait_until(lambda port=port: 'sinkholed_list_serial{list="mic"} 1'
                           in cls.metrics(port), 20 * cls.factor, step=0.1)
        for s in (cls.a, cls.b):
            cls.wait_until(lambda s=s: cls.blocked(s, CLIENTS[0], "old.example"),
                           5 * cls.factor)
        cls.primary.notify([(cls.a.addr, cls.a.port)])  # B: cut off from the NOTIFYs

        # The events behind EVENT_METRICS and the alerts the Prometheus test expects.
        # A change on the primary: A transfers serial 2 at once, B never hears of it.
        cls.primary.change(add=["new.example"])
        cls.wait_until(lambda: 'sinkholed_list_serial{list="mic"} 2' in cls.metrics(cls.mport_a),
                       10 * cls.factor, step=0.1)
        cls.wait_until(lambda: cls.blocked(cls.a, CLIENTS[0], "new.example"),
                       5 * cls.factor, step=0.2)
        # Blocked queries (protected users) from several clients, on every list with names.
        for src in CLIENTS:
            for name in ("old.example", "bet.alerts.test", "malware.alerts.test"):
                cls.wait_until(lambda src=src, name=name: cls.blocked(cls.a, src, name),
                               10 * cls.factor)
        # A list refused: casinos emptied and reloaded (the guard refuses an empty list; the
        # reload fails, the old copy serves). Last: SinkholedReloadFailing stays on until a
        # reload succeeds (a feed's build after it does not clear it).
        cls.a.rewrite(files={"casinos.txt": ""})
        ok, _ = cls.a.reload()
        assert not ok, "a reload with an empty list succeeded"

    @staticmethod
    def blocked(s, src, name):
        """NXDOMAIN from a list; an unlisted name goes upstream (SERVFAIL within the
        upstream deadline, hence the 5 s)."""
        return s.ask(src, name, timeout=5).rcode == NXDOMAIN

    @staticmethod
    def wait_until(pred, timeout, step=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(step)
        raise AssertionError(f"not within {timeout} s")

    @staticmethod
    def metrics(port):
        return scrape_metrics(port)

    def test_every_metric_the_rules_and_dashboard_use_exists(self):
        pattern = 'sinkholed_feed_transfer_failures_total{list="cutoff",reason="network"}'
        self.wait_until(lambda: pattern in self.metrics(self.mport_a), 20 * self.factor, 0.2)
        text_a = self.metrics(self.mport_a)
        names = exposition_names(text_a) | exposition_names(self.metrics(self.mport_b))
        # Each event-only series was made to appear (so none is excused below).
        self.assertEqual(set(EVENT_METRICS) - names, set(), "events the setup did not make")
        self.assertIn('sinkholed_list_reload_failures_total{list="casinos",reason="empty"} 1',
                      text_a)
        self.assertIn('sinkholed_list_serial{list="mic"} 2', text_a)
        self.assertRegex(text_a, r'sinkholed_list_fetches_total\{list="urlhaus",'
                                 r'outcome="downloaded"\} [1-9]')
        used = rule_metrics() | dashboard_metrics()
        self.assertGreater(len(used), 20)
        for must in ("sinkholed_list_serial", "sinkholed_protected_users",
                     "sinkholed_answers_total", "sinkholed_list_reload_failures_total"):
            self.assertIn(must, used)
        self.assertEqual(used - names, set(), "names in alerts.yml or the dashboard that "
                                              "no sinkholed /metrics page holds")

    # -- the rules in the real Prometheus -------------------------------------------------
    def start_prometheus(self):
        d = tempfile.mkdtemp(prefix="sinkholed-alerts-prom-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(ALERT_RULES) as f:
            rules = yaml.safe_load(f)
        for group in rules["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                rule["for"] = "0s"  # the holds are tested by promtool; here: the expressions
        with open(os.path.join(d, "alerts.yml"), "w") as f:
            yaml.safe_dump(rules, f)
        targets = [f"127.0.0.1:{self.mport_a}", f"127.0.0.1:{self.mport_b}"]
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                            "rule_files": ["alerts.yml"],
                            "scrape_configs": [{"job_name": "sinkholed",
                                                "static_configs": [{"targets": targets}]}]}, f)
        self.prom_port = free_tcp_port()
        self.prom_log = os.path.join(d, "prometheus.log")
        log = open(self.prom_log, "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/data",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(20)))

    def firing(self):
        """{(alertname, instance, list/upstream/category)} firing now."""
        url = f"http://127.0.0.1:{self.prom_port}/api/v1/alerts"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                doc = json.load(r)
        except OSError:
            return set()  # still starting
        return {(a["labels"]["alertname"], a["labels"].get("instance"),
                 a["labels"].get("list") or a["labels"].get("upstream")
                 or a["labels"].get("category"))
                for a in doc["data"]["alerts"] if a["state"] == "firing"}

    def query(self, expr):
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]["result"]

    def scraped(self):
        try:
            return len(self.query('up{job="sinkholed"} == 1'))
        except OSError:
            return 0  # still starting

    def wait_firing(self, want, timeout):
        got = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.firing()
            if want <= got:
                return got
            time.sleep(0.5)
        with open(self.prom_log, "rb") as f:
            log = f.read().decode(errors="replace")[-2000:]
        self.fail(f"not firing: {want - got}; firing: {got}; prometheus log:\n{log}")

    def check_dashboard_in_prometheus(self, node_a, node_b, firing):
        """Every dashboard query runs in Prometheus (all nodes selected); the fleet panels
        show what the two nodes did."""
        results = {}
        for _, expr in dashboard_exprs(DASHBOARDS[0]):
            if expr.startswith("label_values("):
                continue
            try:
                results[expr] = self.query(expr.replace("$instance", ".*"))
            except urllib.error.HTTPError as e:
                self.fail(f"{expr}: {e.read().decode(errors='replace')}")

        def panel(title, ref="A"):
            with open(DASHBOARDS[0]) as f:
                for p in dashboard_panels(json.load(f)):
                    if p.get("title") == title:
                        expr = [t["expr"] for t in p["targets"] if t["refId"] == ref][0]
                        return {(r["metric"].get("instance"), r["metric"].get("list")):
                                float(r["value"][1]) for r in results[expr]}
            self.fail(f"no panel {title}")

        self.assertEqual(panel("Feed serial per node and list"),
                         {(node_a, "mic"): 2, (node_b, "mic"): 1})
        self.assertEqual(panel("Feed serials behind the fleet's newest"),
                         {(node_a, "mic"): 0, (node_b, "mic"): 1})
        self.assertEqual(set(panel("Queries per second: per node and fleet total")),
                         {(node_a, None), (node_b, None)})
        self.assertEqual(panel("Nodes up"), {(None, None): 2})
        alerts = [e for e in results if e.startswith("ALERTS{")]
        self.assertEqual(len(alerts), 1)
        self.assertEqual(len(results[alerts[0]]), firing)
        self.assertIn((node_a, "mic"), panel("Time to enforce per node"))

    def test_rules_fire_in_prometheus_for_what_happened_and_nothing_else(self):
        self.start_prometheus()
        node_a, node_b = f"127.0.0.1:{self.mport_a}", f"127.0.0.1:{self.mport_b}"
        want = {("SinkholedFeedBehind", node_b, "mic"),
                ("SinkholedReloadFailing", node_a, None),
                ("SinkholedListReloadFailed", node_a, "casinos"),
                ("SinkholedFeedTransferFailing", node_a, "cutoff"),
                ("SinkholedUpstreamDown", node_a, self.dead_upstream)}
        # Counters count for increase() once Prometheus has a sample from before: wait for
        # the first scrapes, then make upstream failures. Names knotd refuses (not its
        # zones) fail over to the dead upstream; knotd answers the others. knotd answers
        # first and between refusals, so that however slow the machine, its last word is
        # an answer and it is never found down (REFUSED counts as a failure).
        self.wait_until(lambda: self.scraped() == 2, 30 * self.factor, 0.5)
        time.sleep(2)
        self.a.ask(CLIENTS[0], "www.example.test", timeout=5)
        for i in range(6):
            self.a.ask(CLIENTS[0], f"q{i}.not-served.invalid", timeout=5)
            self.a.ask(CLIENTS[0], f"a{i}-{time.monotonic_ns()}.wild.example.test", timeout=5)
        got = self.wait_firing(want, 60 * self.factor)
        # Both nodes scraped, and nothing else fires: not A behind (it serves the newest
        # serial), not knotd down (it answers some attempts, refuses others), no protected
        # users missing (A counts its blocked clients; B blocks nothing), no SERVFAIL ratio
        # (under 1 answer a second), no node down.
        self.assertEqual(self.scraped(), 2)
        time.sleep(3)
        got |= self.firing()
        self.assertEqual(got, want)
        behind = [a for a in self.query("ALERTS")
                  if a["metric"]["alertname"] == "SinkholedFeedBehind"]
        self.assertEqual(len(behind), 1, behind)
        print(f"\nalerts firing in Prometheus: {sorted(got)}")
        self.check_dashboard_in_prometheus(node_a, node_b, len(want))

        # A node stopped: SinkholedDown names it.
        self.b.stop()
        self.wait_firing({("SinkholedDown", node_b, None)}, 30 * self.factor)


if __name__ == "__main__":
    unittest.main(verbosity=2)
