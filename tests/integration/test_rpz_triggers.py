# SPDX-License-Identifier: MIT
"""RPZ rpz-client-ip and rpz-ip triggers with the real sinkholed and knotd (the upstream,
authoritative for ip.test): a client whose source address a zone lists gets the zone's
action for every name, before any upstream is asked; an upstream answer holding an address
in a listed prefix (A or AAAA) is replaced by the rule's action (NODATA, NXDOMAIN, local
data), fresh and from the cache; the RPZ precedence: inside one zone rpz-client-ip beats
QNAME beats rpz-ip, across zones the first zone of the policy wins (a later zone's QNAME or
client rule loses to an earlier zone's rpz-ip rule); `sinkholectl explain --client` names
the client rule. Clients are distinct 127.0.0.x source addresses."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import build_query  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from zones import soa_zone_text  # noqa: E402

# policy "main": 127.0.0.0/28
LISTED = "127.0.0.9"     # main.rpz: 32.9.0.0.127.rpz-client-ip CNAME .
PLAIN = "127.0.0.10"
# policy "one" (one zone, every trigger kind): 127.0.0.16/28
ONE_LISTED = "127.0.0.17"  # one.rpz: client rule rpz-drop
ONE_PLAIN = "127.0.0.18"
# policy "two" (first.rpz, then second.rpz): 127.0.0.32/28
TWO_LISTED = "127.0.0.33"  # second.rpz: client rule NXDOMAIN
TWO_PLAIN = "127.0.0.34"

SOA = "$TTL 300\n@ SOA ns.rpz.test. hostmaster.rpz.test. 1 3600 600 86400 300\n@ NS ns.rpz.test.\n"

FILES = {
    "main.rpz": SOA + (
        "32.9.0.0.127.rpz-client-ip CNAME .\n"          # line 4
        "24.0.2.0.192.rpz-ip CNAME *.\n"                # line 5: NODATA
        "48.zz.77.db8.2001.rpz-ip AAAA 2001:db8::dead\n"  # line 6: local data
    ),
    "one.rpz": SOA + (
        "32.17.0.0.127.rpz-client-ip CNAME rpz-drop.\n"
        "named.ip.test CNAME .\n"
        "24.0.2.0.192.rpz-ip CNAME *.\n"
    ),
    "first.rpz": SOA + "24.0.2.0.192.rpz-ip CNAME *.\n",
    "second.rpz": SOA + (
        "named.ip.test CNAME .\n"
        "clean.ip.test CNAME .\n"
        "32.33.0.0.127.rpz-client-ip CNAME .\n"
    ),
}

POLICY = """\
lists:
  main: { path: main.rpz, format: rpz, category: main }
  one: { path: one.rpz, format: rpz, category: one }
  first: { path: first.rpz, format: rpz, category: first }
  second: { path: second.rpz, format: rpz, category: second }
policies:
  - name: main
    clients: ["127.0.0.0/28"]
    block: [{ list: main }]
  - name: one
    clients: ["127.0.0.16/28"]
    block: [{ list: one }]
  - name: two
    clients: ["127.0.0.32/28"]
    block: [{ list: first }, { list: second }]
"""


def zones():
    return {"ip.test": soa_zone_text("ip.test", [
        "listed 300 IN A 192.0.2.80",
        "mixed 300 IN A 198.51.100.81",
        "mixed 300 IN A 192.0.2.81",
        "clean 300 IN A 198.51.100.80",
        "named 300 IN A 192.0.2.90",
        "v6 300 IN AAAA 2001:db8:77::1",
        "v6clean 300 IN AAAA 2001:db8:78::1",
    ])}


def addresses(m):
    return sorted(str(r.value()) for r in m.answer if r.type_name in ("A", "AAAA"))


class RpzTriggersTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())
        cls.server = cls.class_policy_sinkholed([cls.knot.upstream], POLICY, FILES)

    def setUp(self):
        self.before = self.server.stats()

    def assertNodata(self, m):
        self.assertEqual(m.rcode_name, "NOERROR", repr(m))
        self.assertEqual(addresses(m), [], repr(m))

    def assertNoAnswer(self, src, name):
        reply = self.server.raw_from(src, build_query(name, "A"), timeout=1.0)
        self.assertIsNone(reply, f"{name} from {src}: rpz-drop answered")

    def test_listed_client_gets_the_action_for_every_name(self):
        for name in ("clean.ip.test", "nothing.ip.test", "www.example.org"):
            with self.subTest(name=name):
                m = self.server.ask(LISTED, name, "A")
                self.assertEqual(m.rcode_name, "NXDOMAIN", repr(m))
        m = self.server.ask(PLAIN, "clean.ip.test", "A")
        self.assertEqual(addresses(m), ["198.51.100.80"], repr(m))
        self.assertCounters(self.server, self.before, blocked_rpz_client_ip=3, blocked=3)

    def test_answer_with_a_listed_address_gets_the_action(self):
        for i in range(2):  # from upstream, then from the cache
            with self.subTest(round=i):
                self.assertNodata(self.server.ask(PLAIN, "listed.ip.test", "A"))
                # one of two addresses listed is enough
                self.assertNodata(self.server.ask(PLAIN, "mixed.ip.test", "A"))
                m = self.server.ask(PLAIN, "v6.ip.test", "AAAA")
                self.assertEqual(addresses(m), ["2001:db8::dead"], repr(m))
                self.assertEqual(addresses(self.server.ask(PLAIN, "v6clean.ip.test", "AAAA")),
                                 ["2001:db8:78::1"])
                self.assertEqual(addresses(self.server.ask(PLAIN, "clean.ip.test", "A")),
                                 ["198.51.100.80"])
        self.assertCounters(self.server, self.before, blocked_rpz_ip=6, blocked=6,
                            blocked_rpz_client_ip=0)

    def test_precedence_in_one_zone(self):
        # client-ip (rpz-drop) beats the name's NXDOMAIN and the answer's NODATA
        self.assertNoAnswer(ONE_LISTED, "named.ip.test")
        # QNAME (NXDOMAIN) beats rpz-ip (NODATA): answered without asking the upstream
        m = self.server.ask(ONE_PLAIN, "named.ip.test", "A")
        self.assertEqual(m.rcode_name, "NXDOMAIN", repr(m))
        # rpz-ip alone
        self.assertNodata(self.server.ask(ONE_PLAIN, "listed.ip.test", "A"))
        self.assertCounters(self.server, self.before, blocked=3, blocked_rpz_client_ip=1,
                            blocked_rpz_ip=1)

    def test_first_zone_wins(self):
        # second.rpz's name rule loses to first.rpz's rpz-ip rule on the answer
        self.assertNodata(self.server.ask(TWO_PLAIN, "named.ip.test", "A"))
        # ... and applies when first.rpz has nothing to say about the answer
        m = self.server.ask(TWO_PLAIN, "clean.ip.test", "A")
        self.assertEqual(m.rcode_name, "NXDOMAIN", repr(m))
        # second.rpz's client rule loses to first.rpz's rpz-ip rule too, not otherwise
        self.assertNodata(self.server.ask(TWO_LISTED, "listed.ip.test", "A"))
        m = self.server.ask(TWO_LISTED, "v6clean.ip.test", "AAAA")
        self.assertEqual(m.rcode_name, "NXDOMAIN", repr(m))
        self.assertCounters(self.server, self.before, blocked=4, blocked_rpz_ip=2,
                            blocked_rpz_client_ip=1)

    def test_explain_names_the_client_rule(self):
        p = sinkholectl(self.server.control_socket, "explain", "clean.ip.test", "--client", LISTED)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("rule rpz-client-ip 127.0.0.9/32", p.stdout)
        self.assertIn("main.rpz:4", p.stdout)
        p = sinkholectl(self.server.control_socket, "explain", "clean.ip.test", "--client", PLAIN)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
