# SPDX-License-Identifier: MIT
"""Every sinkholectl command against a running server, as an operator uses it: stats and
lists (text and --json), explain for a blocked, an excepted, an allow-listed and an allowed
name (text and --json, with and without --client), cache flush (all, or one name: the
upstream is asked again), the control socket's mode and group, and the one-line error with
exit 2 when no server runs."""

import grp
import json
import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from fakes import RecordingProxy  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
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

    def start(self, group=None):
        self.proxy = self.start_fake(RecordingProxy(self.knot))
        group_line = f'\n  group: "{group}"' if group else ""
        policy = f"""\
control:
  socket: "{self.sock}"
  mode: "0660"{group_line}
lists:
  casinos: {{ path: casinos.txt, category: gambling }}
  exceptions: {{ path: exceptions.txt, format: adblock, category: gambling }}
  staff-allow: {{ path: staff.txt }}
actions:
  warning:
    type: sinkhole
    a: 203.0.113.10
    ede: censored
    ede_text: "Blocked under Decree 147/2024/ND-CP (list {{list}}, category {{category}})"
policies:
  - name: subscribers
    clients: ["{SUBSCRIBER}/32"]
    block:
      - {{ list: exceptions, action: warning }}
      - {{ list: casinos, action: warning }}
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
        }
        return self.start_policy_sinkholed([self.proxy.upstream], policy, files,
                                           cache={"max_bytes": "4MiB"})

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
        self.assertRegex(text, r"casinos\s+gambling\s+warning\s+3\n")
        self.assertRegex(text, r"casinos\s+gambling\s+nxdomain\s+1\n")
        self.assertNotRegex(text, r"casinos\s+gambling\s+tcp-only")  # not an RPZ list
        doc = json.loads(self.ctl("stats", "--json").stdout)
        self.assertEqual(doc["counters"]["blocked"], 4)
        self.assertEqual(doc["counters"]["queries_udp"] - before["queries_udp"], 5)
        rows = {(r["list"], r["action"]): r["blocked"] for r in doc["blocked"]}
        self.assertEqual(rows[("casinos", "warning")], 3)
        self.assertEqual(rows[("casinos", "nxdomain")], 1)
        self.assertEqual(rows[("exceptions", "warning")], 0)
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
        self.assertEqual(set(by), {"casinos", "exceptions", "staff-allow"})
        self.assertEqual(by["exceptions"]["format"], "adblock")
        self.assertEqual(by["casinos"]["entries"], 2)
        self.assertGreaterEqual(by["casinos"]["age_s"], 0)
        self.assertLess(by["casinos"]["age_s"], 120)

    # -- explain --------------------------------------------------------------------------
    def test_explain_blocked_with_file_line_action_and_ede(self):
        s = self.start()
        text = self.ctl("explain", "WWW.Casino.ctl.test.", "--client", SUBSCRIBER).stdout
        self.assertIn("www.casino.ctl.test: BLOCKED by list casinos (category gambling) at "
                      f"{os.path.join(s.dir, 'casinos.txt')}:3, rule casino.ctl.test", text)
        self.assertIn('action warning, EDE text "Blocked under Decree 147/2024/ND-CP '
                      '(list casinos, category gambling)"', text)
        self.assertIn(f"client {SUBSCRIBER}, policy subscribers", text)
        doc = json.loads(self.ctl("explain", "casino.ctl.test", "--client", SUBSCRIBER,
                                  "--json").stdout)
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
        # Without --client: the default policy.
        t = self.ctl("explain", "bet.ctl.test").stdout
        self.assertIn("BLOCKED", t)
        self.assertIn("no client given, policy subscribers", t)
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

    def test_unknown_group_fails_to_open_the_socket_with_a_clear_log(self):
        s = self.start(group="no-such-group-sinkholed")
        self.assertIn("no group named 'no-such-group-sinkholed'", s.log_text())
        p = self.ctl("status", expect=2)
        self.assertIn("cannot reach sinkholed", p.stderr)

    def test_no_server(self):
        p = self.ctl("stats", expect=2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.count("\n"), 1)
        self.assertIn(f"sinkholectl: cannot reach sinkholed at {self.sock}", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
