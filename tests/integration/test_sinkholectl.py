# SPDX-License-Identifier: MIT
"""Every sinkholectl command against a running server, as an operator uses it: stats and
lists (text and --json), explain for a blocked, an excepted, an allow-listed and an allowed
name (text and --json, with and without --client), cache flush (all, or one name: the
upstream is asked again), policies (groups in evaluation order), the control socket's mode
and group, and the one-line error with exit 2 when no server runs. The command line: exit 2
within --timeout against a socket that accepts and never answers (and after the 5 s
default), exit 1 for usage errors, --json before the command and after each command,
--version, -c CONFIG finding the socket. Metrics and logs: the policy label on blocked
counts, monitored (passthru) hits per list in /metrics and stats, and the blocked-query log
in JSON Lines, parsed line by line."""

import grp
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl, sinkholectl_binary  # noqa: E402
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from fakes import RecordingProxy  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import free_tcp_port, sinkholed_binary  # noqa: E402
from zones import soa_zone_text  # noqa: E402

SUBSCRIBER = "127.0.0.2"
STAFF = "127.0.0.3"
OUTSIDER = "127.0.0.4"


def zones():
    return {"ctl.test": soa_zone_text("ctl.test", ["www 300 IN A 192.0.2.20",
                                                   "news 300 IN A 192.0.2.21"])}


def some_other_group():
    """A group that exists and is not our primary group, to see control.group applied
    (Debian always has daemon, nogroup, adm and users)."""
    for name in ("daemon", "nogroup", "adm", "users"):
        try:
            g = grp.getgrnam(name)
        except KeyError:
            continue
        if g.gr_gid != os.getgid():
            return g
    raise AssertionError("no group other than our own among daemon, nogroup, adm, users")


class SinkholectlTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-ctl-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")

    def start(self, group=None, metrics_port=None, log=None):
        self.proxy = self.start_fake(RecordingProxy(self.knot))
        group_line = f'\n  group: "{group}"' if group else ""
        metrics = f'metrics:\n  listen: "127.0.0.1:{metrics_port}"\n' if metrics_port else ""
        policy = f"""\
{metrics}control:
  socket: "{self.sock}"
  mode: "0660"{group_line}
lists:
  casinos: {{ path: casinos.txt, category: gambling }}
  exceptions: {{ path: exceptions.txt, format: adblock, category: gambling }}
  staff-allow: {{ path: staff.txt }}
  trial: {{ path: trial.txt, category: testing }}
actions:
  warning:
    type: sinkhole
    a: 203.0.113.10
    ede: censored
    ede_text: "Blocked under Decree 147/2024/ND-CP (list {{list}}, category {{category}})"
  watch: {{ type: passthru, log: true }}
policies:
  - name: subscribers
    clients: ["{SUBSCRIBER}/32"]
    block:
      - {{ list: exceptions, action: warning }}
      - {{ list: casinos, action: warning }}
      - {{ list: trial, action: watch }}
  - name: staff
    clients: ["{STAFF}/32"]
    allow: [staff-allow]
    block: [{{ list: casinos, action: nxdomain }}]
default_policy: subscribers
"""
        files = {
            "casinos.txt": "# casinos\nbet.ctl.test\ncasino.ctl.test\n",
            "exceptions.txt": "@@||ok.bet.ctl.test^\n",
            "staff.txt": "casino.ctl.test\n",
            "trial.txt": "trial.ctl.test\n",
        }
        return self.start_policy_sinkholed([self.proxy.upstream], policy, files,
                                           cache={"max_bytes": "4MiB"}, log=log)

    def ctl(self, *args, expect=0):
        p = sinkholectl(self.sock, *args)
        self.assertEqual(p.returncode, expect, f"sinkholectl {args}: {p.stdout}{p.stderr}")
        return p

    def upstream_asks(self, qname):
        return [e for e in self.proxy.seen if (e["qname"] or "").lower() == qname.lower()]

    # -- stats and lists ------------------------------------------------------------------
    def test_stats_text_and_json(self):
        s = self.start()
        before = json.loads(self.ctl("stats", "--json").stdout)["counters"]  # after readiness probes
        for _ in range(3):
            self.assertEqual(s.ask(SUBSCRIBER, "x.bet.ctl.test").rcode, NOERROR)  # sinkholed
        self.assertEqual(s.ask(STAFF, "bet.ctl.test").rcode, NXDOMAIN)
        s.ask(SUBSCRIBER, "www.ctl.test")
        text = self.ctl("stats").stdout
        self.assertRegex(text, r"queries \d+ \(\d+ udp, \d+ tcp\); blocked 4 \(")
        self.assertRegex(text, r"subscribers\s+casinos\s+gambling\s+warning\s+3\n")
        self.assertRegex(text, r"staff\s+casinos\s+gambling\s+nxdomain\s+1\n")
        self.assertNotRegex(text, r"casinos\s+gambling\s+tcp-only")  # not an RPZ list
        doc = json.loads(self.ctl("stats", "--json").stdout)
        self.assertEqual(doc["counters"]["blocked"], 4)
        self.assertEqual(doc["counters"]["queries_udp"] - before["queries_udp"], 5)
        rows = {(r["policy"], r["list"], r["action"]): r["blocked"] for r in doc["blocked"]}
        self.assertEqual(rows[("subscribers", "casinos", "warning")], 3)
        self.assertEqual(rows[("staff", "casinos", "nxdomain")], 1)
        self.assertEqual(rows[("subscribers", "exceptions", "warning")], 0)
        self.assertNotIn(("staff", "casinos", "warning"), rows)  # staff never gets `warning`
        users = {u["category"]: (u["last_hour"], u["last_day"]) for u in doc["protected_users"]}
        self.assertEqual(users["gambling"], (2, 2))  # two clients, whatever their count
        self.assertRegex(text, r"gambling\s+last hour\s+2\s+last day\s+2")
        self.assertTrue(doc["cache"]["enabled"])
        self.assertGreaterEqual(doc["cache"]["entries"], 1)

    def test_lists_text_and_json(self):
        s = self.start()
        text = self.ctl("lists").stdout
        # No format: in the config: the column says how it was chosen.
        self.assertRegex(text, r"casinos\s+gambling\s+domains \(inferred from content\)\s+"
                               r"2 entries\s+0 rejected")
        self.assertIn(os.path.join(s.dir, "casinos.txt"), text)
        doc = json.loads(self.ctl("lists", "--json").stdout)
        by = {l["name"]: l for l in doc}
        self.assertEqual(set(by), {"casinos", "exceptions", "staff-allow", "trial"})
        self.assertEqual(by["exceptions"]["format"], "adblock")
        self.assertEqual(by["casinos"]["entries"], 2)
        self.assertGreaterEqual(by["casinos"]["age_s"], 0)
        self.assertLess(by["casinos"]["age_s"], 120)

    # -- explain --------------------------------------------------------------------------
    def test_explain_blocked_with_file_line_action_and_ede(self):
        s = self.start()
        text = self.ctl("explain", "WWW.Casino.ctl.test.", "--client", SUBSCRIBER,
                        expect=3).stdout  # 3: blocked
        self.assertIn("www.casino.ctl.test: BLOCKED by list casinos (category gambling) at "
                      f"{os.path.join(s.dir, 'casinos.txt')}:3, rule casino.ctl.test", text)
        self.assertIn('action warning, EDE text "Blocked under Decree 147/2024/ND-CP '
                      '(list casinos, category gambling)"', text)
        self.assertIn(f"client {SUBSCRIBER}, policy subscribers", text)
        doc = json.loads(self.ctl("explain", "casino.ctl.test", "--client", SUBSCRIBER,
                                  "--json", expect=3).stdout)
        self.assertEqual((doc["verdict"], doc["list"], doc["line"], doc["action"]),
                         ("blocked", "casinos", 3, "warning"))
        # The same answer the resolver gives.
        r = s.ask(SUBSCRIBER, "www.casino.ctl.test", "A", edns=True)
        self.assertEqual(r.values("A"), ["203.0.113.10"])

    def test_explain_exception_allow_list_and_no_rule(self):
        s = self.start()
        t = self.ctl("explain", "ok.bet.ctl.test", "--client", SUBSCRIBER).stdout
        self.assertIn("ok.bet.ctl.test: allowed by an exception in list exceptions", t)
        self.assertIn(":1, rule ok.bet.ctl.test", t)
        self.assertEqual(s.ask(SUBSCRIBER, "ok.bet.ctl.test").rcode, NXDOMAIN)  # knot: no such
        t = self.ctl("explain", "casino.ctl.test", "--client", STAFF).stdout
        self.assertIn("allowed by allow list staff-allow", t)
        self.assertIn("policy staff", t)
        t = self.ctl("explain", "www.ctl.test", "--client", SUBSCRIBER).stdout
        self.assertEqual(t.strip(), f"www.ctl.test: allowed, no rule (client {SUBSCRIBER}, "
                                    "policy subscribers)")
        # Without --client: every policy's verdict, in order (exit 3: blocked in one).
        t = self.ctl("explain", "casino.ctl.test", expect=3).stdout
        self.assertIn("casino.ctl.test: no client given, the verdict of each policy", t)
        self.assertIn("\n  policy subscribers: BLOCKED by list casinos", t)
        self.assertIn("\n  policy staff: allowed by allow list staff-allow", t)
        self.assertIn("\n    overrides list casinos (category gambling)", t)
        doc = json.loads(self.ctl("explain", "www.ctl.test", "--json").stdout)
        self.assertEqual(doc["verdict"], "allowed")
        self.assertNotIn("list", doc)

    def test_explain_errors(self):
        self.start()
        p = self.ctl("explain", "bad..name", expect=1)
        self.assertIn("not a valid name", p.stdout)
        p = self.ctl("explain", "bet.ctl.test", "--client", "not-an-ip", expect=1)
        self.assertIn("'not-an-ip' is not an IPv4 or IPv6 address", p.stdout)

    # -- cache flush ----------------------------------------------------------------------
    def test_cache_flush_one_name_and_all(self):
        s = self.start()
        for name in ("www.ctl.test", "news.ctl.test"):
            s.ask(SUBSCRIBER, name)
            s.ask(SUBSCRIBER, name)
            self.assertEqual(len(self.upstream_asks(name + ".")), 1, name)
        p = self.ctl("cache", "flush", "WWW.ctl.test")
        self.assertRegex(p.stdout, r"^ok: 1 entry for WWW\.ctl\.test removed")
        s.ask(SUBSCRIBER, "www.ctl.test")
        s.ask(SUBSCRIBER, "news.ctl.test")
        self.assertEqual(len(self.upstream_asks("www.ctl.test.")), 2)   # asked again
        self.assertEqual(len(self.upstream_asks("news.ctl.test.")), 1)  # still cached
        p = self.ctl("cache", "flush")
        self.assertRegex(p.stdout, r"^ok: cache flushed \(2 entries\)")
        s.ask(SUBSCRIBER, "news.ctl.test")
        self.assertEqual(len(self.upstream_asks("news.ctl.test.")), 2)

    # -- socket and failures --------------------------------------------------------------
    def test_socket_mode_and_group(self):
        g = some_other_group()
        self.start(group=g.gr_name)
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, g.gr_gid)

    def test_unknown_group_fails_the_start_with_a_clear_message(self):
        # A daemon without its socket would leave `systemctl reload` failing days later.
        s = PolicySinkholed(["127.0.0.1:9"], f'control:\n  socket: "{self.sock}"\n'
                            '  group: "no-such-group-sinkholed"\n')
        try:
            with self.assertRaises(RuntimeError) as e:
                s.start()
            self.assertEqual(s.proc.returncode, 1)
        finally:
            s.proc = None
            shutil.rmtree(s.dir, ignore_errors=True)
        self.assertIn("control.group 'no-such-group-sinkholed': no such group", str(e.exception))
        p = self.ctl("status", expect=2)
        self.assertIn("cannot reach sinkholed", p.stderr)

    def test_no_server(self):
        p = self.ctl("stats", expect=2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.count("\n"), 1)
        self.assertIn(f"sinkholectl: cannot reach sinkholed at {self.sock}", p.stderr)


    # -- the command line: timeouts, exit codes, --json, --version, -c ----------------------
    def run_ctl(self, *args, timeout=60):
        """sinkholectl ARGS (no -s): (CompletedProcess, seconds it took)."""
        t0 = time.monotonic()
        p = subprocess.run([sinkholectl_binary(), *args], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return p, time.monotonic() - t0

    def silent_server(self):
        """A Unix socket at self.sock that accepts every connection and never answers (a
        hung daemon). Connections stay open until the test ends."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.sock)
        srv.listen(16)
        held = []
        stop = threading.Event()

        def accept():
            srv.settimeout(0.1)
            while not stop.is_set():
                try:
                    held.append(srv.accept()[0])
                except socket.timeout:
                    continue
                except OSError:
                    return

        t = threading.Thread(target=accept, daemon=True)
        t.start()

        def close():
            stop.set()
            t.join()
            for c in held:
                c.close()
            srv.close()
        self.addCleanup(close)
        return held

    def test_timeout_against_a_server_that_never_answers(self):
        held = self.silent_server()
        p, took = self.run_ctl("-s", self.sock, "--timeout", "1s", "status")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn(f"sinkholectl: sinkholed at {self.sock} did not answer within 1 s", p.stderr)
        self.assertGreaterEqual(took, 1.0)
        self.assertLess(took, 10.0)  # 1 s and a sanitizer's start-up, not a hang
        self.assertGreaterEqual(len(held), 1)  # it did connect: the reply is what timed out
        # The default is 5 s; a reload says it may still be running.
        p, took = self.run_ctl("-s", self.sock, "stats")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("did not answer within 5 s", p.stderr)
        self.assertGreaterEqual(took, 5.0)
        self.assertLess(took, 20.0)
        p, took = self.run_ctl("-s", self.sock, "reload", "--timeout", "500ms")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("the reload may still be running", p.stderr)
        self.assertLess(took, 10.0)

    def test_no_server_and_a_stale_socket_exit_2(self):
        p, _ = self.run_ctl("-s", self.sock, "status")  # no socket file at all
        self.assertEqual(p.returncode, 2)
        self.assertIn("No such file or directory", p.stderr)
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.sock)  # the file a killed daemon leaves: nobody listens
        self.addCleanup(stale.close)
        p, took = self.run_ctl("-s", self.sock, "status")
        self.assertEqual(p.returncode, 2)
        self.assertIn("Connection refused", p.stderr)
        self.assertLess(took, 10.0)

    def test_usage_errors_exit_1(self):
        for args in ([], ["reboot"], ["explain"], ["status", "extra"], ["cache"],
                     ["--timeout", "soon", "status"], ["explain", "x.test", "--cleint", "a"]):
            p, _ = self.run_ctl("-s", self.sock, *args)
            self.assertEqual(p.returncode, 1, f"{args}: {p.stderr}")
            self.assertTrue(p.stderr.strip(), args)
            self.assertEqual(p.stdout, "", args)
        p, _ = self.run_ctl("--help")
        self.assertEqual(p.returncode, 0)
        for line in ("Exit status:", "  2  no server", "  3  explain", "policies", "--timeout",
                     "--config", "--version"):
            self.assertIn(line, p.stdout)

    def test_version(self):
        p, _ = self.run_ctl("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        d = subprocess.run([sinkholed_binary(), "--version"], capture_output=True, text=True)
        version = d.stdout.split()[-1]
        self.assertRegex(version, r"^\d+\.\d+\.\d+")
        self.assertEqual(p.stdout, f"sinkholectl {version}\n")

    def test_json_before_and_after_every_command(self):
        self.start()
        commands = [["status"], ["stats"], ["lists"], ["policies"],
                    ["explain", "www.ctl.test"], ["cache", "flush"],
                    ["cache", "flush", "www.ctl.test"], ["reload"], ["reload", "--force"]]
        for cmd in commands:
            for args in (["--json", *cmd], [*cmd, "--json"]):
                p = self.ctl(*args)
                doc = json.loads(p.stdout)
                self.assertIsInstance(doc, (dict, list), args)
        self.assertIn("generation", json.loads(self.ctl("--json", "reload").stdout))
        self.assertIn("removed", json.loads(self.ctl("cache", "flush", "--json").stdout))

    def test_config_option_finds_the_socket(self):
        s = self.start()
        p, _ = self.run_ctl("-c", s.config_path, "status")  # no -s: control.socket of the file
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sinkholed running", p.stdout)
        p, _ = self.run_ctl("lists", "--json", "--config", s.config_path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)), 4)
        # -s wins over the file.
        p, _ = self.run_ctl("-c", s.config_path, "-s", self.sock + ".nope", "status")
        self.assertEqual(p.returncode, 2)
        # A file that does not load: its error, exit 1.
        bad = os.path.join(self.sock_dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("control:\n  sokcet: /x\n")
        p, _ = self.run_ctl("-c", bad, "status")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{bad}:2:3: unknown key 'sokcet'", p.stderr)

    def test_policies_in_evaluation_order(self):
        s = self.start()
        text = self.ctl("policies").stdout
        self.assertLess(text.index("1. policy subscribers (default_policy)"),
                        text.index("2. policy staff"))
        self.assertIn(f"clients  {SUBSCRIBER}/32", text)
        self.assertRegex(text, r"block\s+1\. exceptions \(category gambling\): warning "
                               r"\(sinkhole\)\n\s+2\. casinos \(category gambling\): warning "
                               r"\(sinkhole\)\n\s+3\. trial \(category testing\): watch "
                               r"\(passthru\)\n")
        self.assertIn("allow    staff-allow", text)
        self.assertTrue(text.endswith("clients in no policy: policy subscribers "
                                      "(default_policy)\n"), text)
        doc = json.loads(self.ctl("policies", "--json").stdout)
        self.assertEqual([p["name"] for p in doc["policies"]], ["subscribers", "staff"])
        sub, staff = doc["policies"]
        self.assertEqual(sub["clients"], [f"{SUBSCRIBER}/32"])
        self.assertTrue(sub["default"])
        self.assertEqual([(r["list"], r["action"]) for r in sub["block"]],
                         [("exceptions", "warning"), ("casinos", "warning"), ("trial", "watch")])
        self.assertEqual([a["list"] for a in staff["allow"]], ["staff-allow"])
        self.assertEqual(staff["block"][0]["action"], "nxdomain")
        self.assertEqual(doc["unmatched_clients"], "subscribers")
        # A reload that reorders the rules shows the new order.
        s.rewrite(s.policy_yaml.replace(
            "      - { list: casinos, action: warning }\n      - { list: trial, action: watch }",
            "      - { list: trial, action: watch }\n      - { list: casinos, action: warning }"))
        self.ctl("reload")
        doc = json.loads(self.ctl("policies", "--json").stdout)
        self.assertEqual([r["list"] for r in doc["policies"][0]["block"]],
                         ["exceptions", "trial", "casinos"])

    # -- metrics and logs ---------------------------------------------------------------
    def test_metrics_policy_label_and_monitored_per_list(self):
        port = free_tcp_port("127.0.0.1")
        s = self.start(metrics_port=port)
        for _ in range(2):
            s.ask(SUBSCRIBER, "bet.ctl.test")
        s.ask(STAFF, "bet.ctl.test")
        for _ in range(3):
            s.ask(SUBSCRIBER, "trial.ctl.test")  # passthru: answered by the upstream
        self.assertEqual(len(self.upstream_asks("trial.ctl.test.")), 1)  # then cached
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
        self.assertIn('sinkholed_blocked_total{policy="subscribers",list="casinos",'
                      'category="gambling",action="warning"} 2\n', body)
        self.assertIn('sinkholed_blocked_total{policy="staff",list="casinos",'
                      'category="gambling",action="nxdomain"} 1\n', body)
        self.assertIn('sinkholed_monitored_total{policy="subscribers",list="trial",'
                      'category="testing",action="watch"} 3\n', body)
        self.assertIn("# TYPE sinkholed_monitored_total counter", body)
        self.assertRegex(body, r"\nsinkholed_monitored_queries_total 3\n")
        self.assertRegex(body, r"\nsinkholed_blocked_queries_total 3\n")
        self.assertNotIn('sinkholed_blocked_total{policy="subscribers",list="trial"', body)
        doc = json.loads(self.ctl("stats", "--json").stdout)
        self.assertEqual([(r["policy"], r["list"], r["monitored"]) for r in doc["monitored"]],
                         [("subscribers", "trial", 3)])
        self.assertRegex(self.ctl("stats").stdout,
                         r"monitored .*\n\s+subscribers\s+trial\s+testing\s+watch\s+3\n")

    def wait_for_lines(self, s, offset, prefix, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in s.log_since(offset).splitlines() if l.startswith(prefix)]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def test_blocked_query_log_in_json_lines(self):
        s = self.start(log={"blocked_queries": True, "blocked_queries_format": "json",
                            "client_address": "full"})
        offset = s.log_size()
        s.ask(SUBSCRIBER, "www.casino.ctl.test", "AAAA")
        s.ask(STAFF, "bet.ctl.test", "A")
        s.ask(SUBSCRIBER, r"we\"ird\\.bet.ctl.test", "TXT")
        s.ask(SUBSCRIBER, "trial.ctl.test", "A")  # monitored, its action logs
        s.ask(SUBSCRIBER, "www.ctl.test", "A")  # allowed: no line
        lines = self.wait_for_lines(s, offset, "{", 4)
        docs = [json.loads(l) for l in lines]  # every JSON line parses on its own
        self.assertEqual(len(docs), 4, s.log_since(offset))
        for d in docs:
            self.assertEqual(list(d)[:2], ["time", "event"])
            self.assertRegex(d["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        first = docs[0]
        self.assertEqual({k: first[k] for k in ("event", "client", "name", "qtype", "policy",
                                                "list", "category", "action", "rcode", "line")},
                         {"event": "blocked", "client": SUBSCRIBER,
                          "name": "www.casino.ctl.test.", "qtype": "AAAA",
                          "policy": "subscribers", "list": "casinos", "category": "gambling",
                          "action": "warning", "rcode": "NOERROR", "line": 3})
        self.assertEqual((docs[1]["policy"], docs[1]["action"], docs[1]["rcode"],
                          docs[1]["client"]), ("staff", "nxdomain", "NXDOMAIN", STAFF))
        self.assertEqual(docs[2]["name"], 'we"ird\\\\.bet.ctl.test.')
        self.assertEqual(docs[2]["qtype"], "TXT")
        self.assertEqual((docs[3]["event"], docs[3]["list"], docs[3]["action"]),
                         ("monitored", "trial", "watch"))
        self.assertIsNone(docs[3]["rcode"])

    def test_blocked_query_log_in_text(self):
        # The same fields, key=value, after the logger's time.
        s2 = self.start(log={"blocked_queries": True})
        offset = s2.log_size()
        s2.ask(SUBSCRIBER, "bet.ctl.test", "A")
        log = s2.log_since(offset)
        deadline = time.monotonic() + 10
        while "blocked name=" not in log and time.monotonic() < deadline:
            time.sleep(0.05)
            log = s2.log_since(offset)
        self.assertRegex(log, r"\d\d:\d\d:\d\d\.\d{3} blocked name=bet\.ctl\.test\. qtype=A "
                              r"policy=subscribers list=casinos category=gambling "
                              r"action=warning rcode=NOERROR line=2\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
