# SPDX-License-Identifier: MIT
"""Mandatory lists with the real sinkholed and knotd: a name of a `mandatory: true` list
(the regulator's) that a group's allow list also holds still gets the block answer (kdig);
the allow list still lifts a category list's name; the mandatory list's own exception
list lifts a name, and the lift is logged at load and shown in /metrics; `sinkholectl
explain` shows the block rules an allow entry overrides and the allow entry a mandatory
list ignored, and exits 0 allowed / 3 blocked / 4 refused, with `--client` and without
(every policy's verdict); `explain -- -x.example` takes a name starting with '-'; a reload
that adds `mandatory: true` takes effect at once."""

import json
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_lists, sinkholectl  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port, scrape_metrics  # noqa: E402
from zones import soa_zone_text  # noqa: E402

SUBSCRIBER = "127.0.0.2"
BUSINESS = "127.0.0.3"
OUTSIDER = "127.0.0.4"
WARNING = "203.0.113.10"


def zones():
    return {"mand.test": soa_zone_text("mand.test", ["casino 300 IN A 192.0.2.31",
                                                     "bingo 300 IN A 192.0.2.32",
                                                     "lottery 300 IN A 192.0.2.33",
                                                     "www 300 IN A 192.0.2.34"])}


FILES = {
    "mic.txt": "casino.mand.test\nlottery.mand.test\n",
    "mic-exceptions.txt": "lottery.mand.test\n",
    "gambling.txt": "# category list\ncasino.mand.test\nbingo.mand.test\n",
    # The helpdesk's allow list: a category false positive, and (by mistake) two names
    # the regulator lists.
    "helpdesk.txt": "casino.mand.test\nbingo.mand.test\nlottery.mand.test\n",
}


def policy(sock, metrics_port, mandatory=True):
    mic = ("{ path: mic.txt, category: regulator, mandatory: true, "
           "exceptions: [mic-exceptions] }" if mandatory
           else "{ path: mic.txt, category: regulator }")
    return f"""\
control:
  socket: "{sock}"
metrics:
  listen: "127.0.0.1:{metrics_port}"
lists:
  mic: {mic}
  mic-exceptions: {{ path: mic-exceptions.txt }}
  gambling: {{ path: gambling.txt, category: gambling }}
  helpdesk: {{ path: helpdesk.txt }}
actions:
  warning: {{ type: sinkhole, a: {WARNING}, ede: censored, ede_text: "Blocked ({{list}})" }}
policies:
  - name: subscribers
    clients: ["{SUBSCRIBER}/32"]
    allow: [helpdesk]
    block:
      - {{ list: gambling, action: warning }}
      - {{ list: mic, action: warning }}
  - name: business
    clients: ["{BUSINESS}/32"]
    block: [{{ list: mic, action: nxdomain }}]
"""


class MandatoryListsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-mandatory-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")
        self.metrics_port = free_tcp_port("127.0.0.1")

    def start(self, mandatory=True):
        return self.start_policy_sinkholed(
            [self.knot.upstream], policy(self.sock, self.metrics_port, mandatory), FILES,
            cache={"max_bytes": "4MiB"})

    def ctl(self, *args, expect=0):
        p = sinkholectl(self.sock, *args)
        self.assertEqual(p.returncode, expect, f"sinkholectl {args}: {p.stdout}{p.stderr}")
        return p

    def metrics(self):
        return scrape_metrics(self.metrics_port)

    def test_allow_list_does_not_lift_a_mandatory_block(self):
        s = self.start()
        # kdig from the subscriber: the regulator's name, allow-listed by the helpdesk, gets
        # the block answer of the mandatory list, with its EDE.
        r = s.kdig_from(SUBSCRIBER, "casino.mand.test", "A", "+edns")
        self.assertEqual(r.rcode, 0, r.stdout)
        self.assertEqual(r.values("A"), [WARNING])
        self.assertEde(r, 16, "Blocked (mic)")
        self.assertEqual(s.ask(SUBSCRIBER, "www.casino.mand.test").values("A"), [WARNING])
        # The allow list still lifts a name of a list that is not mandatory.
        self.assertEqual(s.ask(SUBSCRIBER, "bingo.mand.test").values("A"), ["192.0.2.32"])
        # The mandatory list's own exception list lifts a name of it.
        self.assertEqual(s.ask(SUBSCRIBER, "lottery.mand.test").values("A"), ["192.0.2.33"])
        self.assertEqual(s.ask(BUSINESS, "lottery.mand.test").values("A"), ["192.0.2.33"])
        self.assertEqual(s.ask(BUSINESS, "casino.mand.test").rcode, 3)  # NXDOMAIN
        # The lift is audited at load, in the log and in /metrics.
        self.assertIn("list mic (mandatory): 1 name lifted by exception list mic-exceptions",
                      s.log_text())
        lists = ctl_lists(self.sock)
        self.assertTrue(lists["mic"]["mandatory"])
        self.assertEqual(lists["mic"]["exceptions"], [{"list": "mic-exceptions", "lifted": 1}])
        self.assertFalse(lists["gambling"]["mandatory"])
        self.assertRegex(self.ctl("lists").stdout,
                         r"mic\s+regulator .*mic\.txt  mandatory  exceptions mic-exceptions "
                         r"\(1 lifted\)\n")
        self.assertRegex(self.metrics(),
                         r'sinkholed_list_exempted_names\{list="mic",'
                         r'exceptions="mic-exceptions",mandatory="true"\} 1\n')

    def test_explain_shows_overrides_and_exits_0_3_4(self):
        s = self.start()
        d = s.dir
        p = self.ctl("explain", "casino.mand.test", "--client", SUBSCRIBER, expect=3)
        self.assertIn("casino.mand.test: BLOCKED by list mic (category regulator) at "
                      f"{os.path.join(d, 'mic.txt')}:1, rule casino.mand.test", p.stdout)
        self.assertIn("mandatory list mic: NOT overridden: the allow list helpdesk at "
                      f"{os.path.join(d, 'helpdesk.txt')}:1, rule casino.mand.test was ignored",
                      p.stdout)
        self.assertIn("overrides list gambling (category gambling) at "
                      f"{os.path.join(d, 'gambling.txt')}:2, rule casino.mand.test, action "
                      "warning", p.stdout)
        p = self.ctl("explain", "www.bingo.mand.test", "--client", SUBSCRIBER)  # exit 0
        self.assertIn("www.bingo.mand.test: allowed by allow list helpdesk", p.stdout)
        self.assertIn("overrides list gambling (category gambling) at "
                      f"{os.path.join(d, 'gambling.txt')}:3, rule bingo.mand.test, action "
                      "warning", p.stdout)
        p = self.ctl("explain", "lottery.mand.test", "--client", SUBSCRIBER)
        self.assertIn("lifted by its exception list mic-exceptions at "
                      f"{os.path.join(d, 'mic-exceptions.txt')}:1: mandatory list mic",
                      p.stdout)
        doc = json.loads(self.ctl("explain", "casino.mand.test", "--client", SUBSCRIBER,
                                  "--json", expect=3).stdout)
        self.assertEqual((doc["verdict"], doc["list"], doc["mandatory"]), ("blocked", "mic", True))
        self.assertEqual((doc["ignored_allow"]["list"], doc["ignored_allow"]["line"]),
                         ("helpdesk", 1))
        self.assertEqual([o["list"] for o in doc["overrides"]], ["gambling"])
        # Refused: a client in no policy's networks.
        p = self.ctl("explain", "www.mand.test", "--client", OUTSIDER, expect=4)
        self.assertIn(f"REFUSED: client {OUTSIDER} is in no policy's networks", p.stdout)
        self.ctl("explain", "www.mand.test", "--client", SUBSCRIBER, expect=0)

        # Without --client: every policy's verdict in order, never silently the first one.
        p = self.ctl("explain", "bingo.mand.test", expect=4)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "bingo.mand.test: no client given, the verdict of each "
                                   "policy (in configuration order):")
        self.assertTrue(lines[1].startswith("  policy subscribers: allowed by allow list "
                                            "helpdesk"), lines[1])
        self.assertTrue(lines[2].startswith("    overrides list gambling"), lines[2])
        self.assertEqual(lines[3], "  policy business: allowed, no rule")
        self.assertEqual(lines[4], "  clients in no policy: REFUSED (default_policy: refused)")
        self.ctl("explain", "casino.mand.test", expect=3)  # blocked in a policy: 3 wins
        doc = json.loads(self.ctl("explain", "casino.mand.test", "--json", expect=3).stdout)
        self.assertEqual((doc["verdict"], doc["exit"]), ("blocked", 3))
        self.assertEqual([(x["policy"], x["verdict"]) for x in doc["policies"]],
                         [("subscribers", "blocked"), ("business", "blocked"),
                          ("", "refused-client")])

    def test_explain_a_name_starting_with_a_dash(self):
        self.start()
        p = self.ctl("explain", "--client", SUBSCRIBER, "--", "-x.mand.test")
        self.assertEqual(p.stdout.strip(), f"-x.mand.test: allowed, no rule (client {SUBSCRIBER}, "
                                           "policy subscribers)")
        # Without --, CLI11 takes it for an option: a usage error, not a verdict.
        p = sinkholectl(self.sock, "explain", "-x.mand.test")
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("allowed", p.stdout)

    def test_reload_that_adds_mandatory_takes_effect(self):
        s = self.start(mandatory=False)
        # Not mandatory yet: the helpdesk's allow list lifts the regulator's name.
        self.assertEqual(s.ask(SUBSCRIBER, "casino.mand.test").values("A"), ["192.0.2.31"])
        self.ctl("explain", "casino.mand.test", "--client", SUBSCRIBER, expect=0)
        s.rewrite(policy_yaml=policy(self.sock, self.metrics_port, mandatory=True))
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertIn("list mic (mandatory): 1 name lifted by exception list mic-exceptions",
                      log)
        # Blocked at once, although the upstream's answer is in the cache.
        self.assertEqual(s.ask(SUBSCRIBER, "casino.mand.test").values("A"), [WARNING])
        self.assertEqual(s.ask(SUBSCRIBER, "bingo.mand.test").values("A"), ["192.0.2.32"])
        p = self.ctl("explain", "casino.mand.test", "--client", SUBSCRIBER, expect=3)
        self.assertIn("mandatory list mic: NOT overridden", p.stdout)
        # A mandatory list in an allow list is refused at reload; the old policy stays.
        broken = policy(self.sock, self.metrics_port).replace("allow: [helpdesk]",
                                                              "allow: [helpdesk, mic]")
        s.rewrite(policy_yaml=broken)
        ok, log = s.reload()
        self.assertFalse(ok, log)
        self.assertRegex(log, r"policy 'subscribers'\.allow: list 'mic' is mandatory")
        self.assertEqual(s.ask(SUBSCRIBER, "casino.mand.test").values("A"), [WARNING])


if __name__ == "__main__":
    unittest.main()
