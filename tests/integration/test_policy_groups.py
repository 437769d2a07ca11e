# SPDX-License-Identifier: MIT
"""Client groups and the decision order: queries sent from 127.0.0.2 and from 127.0.0.3 get
different policies (real UT1 gambling and social lists); the longest client prefix wins
whatever the order of the policies; ::1 is classified too; a client in no group gets
REFUSED (counter `refused_no_policy`, upstream untouched) or the named default policy;
without a `policies:` key everyone is served. Allow lists win over every block list;
AdBlock `@@` exceptions win inside their list; an RPZ list keeps its own per-rule actions
(CNAME . → NXDOMAIN, CNAME *. → NODATA, rpz-passthru, rpz-drop, rpz-tcp-only, local
A/AAAA/CNAME data) unless the policy rule names an action."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, REFUSED, build_query, parse  # noqa: E402
from fakes import RecordingProxy  # noqa: E402
from policy_harness import PolicyTestCase, blocklist_path, is_listed, list_names  # noqa: E402
from zones import soa_zone_text, zone_files  # noqa: E402

GAMBLING = "ut1/gambling.domains"
SOCIAL = "ut1/social_networks.domains"

SUBSCRIBER = "127.0.0.2"
BUSINESS = "127.0.0.3"
NOBODY = "127.0.0.4"
# Longest prefix: 127.0.3.0/24 → subscribers, 127.0.3.128/25 → business,
# 127.0.3.200/32 → vip (listed first, before the wider prefixes).
IN_24 = "127.0.3.5"
IN_25 = "127.0.3.130"
IN_32 = "127.0.3.200"


def pick():
    g = list_names(GAMBLING)
    s = list_names(SOCIAL)
    gs, ss = set(g), set(s)
    return {
        "gambling": next(n for n in g if n.count(".") == 1 and not is_listed(n, ss)),
        "social": next(n for n in s if n.count(".") == 1 and not is_listed(n, gs)),
    }


NAMES = pick()
G, S = NAMES["gambling"], NAMES["social"]

ALLOW_TXT = f"""\
# names this operator allows whatever the block lists say
www.{G}
kids.adtest.test
"""

SMALL_ADBLOCK = """\
! small AdBlock list with an exception
||ads.adtest.test^
||kids.adtest.test^
@@||good.ads.adtest.test^
"""

POLICY_RPZ = """\
$TTL 300
@ SOA localhost. root.localhost. 2024010101 43200 3600 86400 300
  NS  localhost.
;
; actions of the RPZ zone itself
nx.policy.test CNAME .
*.nx.policy.test CNAME .
nodata.policy.test CNAME *.
*.policy.test CNAME .
pass.policy.test CNAME rpz-passthru.
drop.policy.test CNAME rpz-drop.
tcponly.policy.test CNAME rpz-tcp-only.
local.policy.test 120 A 192.0.2.66
local.policy.test 120 AAAA 2001:db8::66
redir.policy.test 90 CNAME www.example.test.
"""


PATTERNS = """\
# numbered casino hosts
/^casino[0-9]+\\.pat\\.test$/
"""


def zones():
    z = zone_files()
    z["pat.test"] = soa_zone_text("pat.test", [
        "casino 600 IN A 192.0.2.97",
        "casino7x 600 IN A 192.0.2.98",
    ])
    z["policy.test"] = soa_zone_text("policy.test", [
        "@ 600 IN A 192.0.2.72",
        "pass 600 IN A 192.0.2.70",
        "tcponly 600 IN A 192.0.2.71",
        "tcponly 600 IN MX 10 pass.policy.test.",
    ])
    z["adtest.test"] = soa_zone_text("adtest.test", [
        "good.ads 600 IN A 192.0.2.92",
        "sub.good.ads 600 IN A 192.0.2.94",
        "kids 600 IN A 192.0.2.95",
    ])
    z[G] = soa_zone_text(G, ["@ 600 IN A 192.0.2.93", "www 600 IN A 192.0.2.91",
                             "x.www 600 IN A 192.0.2.96"])
    z[S] = soa_zone_text(S, ["@ 600 IN A 192.0.2.90"])
    return z


POLICY_YAML = f"""\
lists:
  gambling: {{ path: "{blocklist_path(GAMBLING)}", category: gambling }}
  social: {{ path: "{blocklist_path(SOCIAL)}", category: social, action: nx }}
  allow_local: {{ path: allow.txt }}
  ads: {{ path: lists/small.adblock, format: adblock, category: ads }}
  rpz: {{ path: lists/policy.rpz, format: rpz, category: rpz }}
  pat: {{ path: lists/pat.txt, format: patterns, category: patterns }}
actions:
  warn: {{ type: sinkhole, a: 203.0.113.10, ttl: 60 }}
  nx: {{ type: nxdomain, soa_ttl: 120 }}
policies:
  - name: vip
    clients: ["{IN_32}/32"]
  - name: subscribers
    clients: ["{SUBSCRIBER}/32", "127.0.3.0/24", "::1/128"]
    allow: [allow_local]
    block:
      - {{ list: gambling, action: warn }}
      - social
      - ads
      - rpz
      - pat
  - name: business
    clients: ["{BUSINESS}/32", "127.0.3.128/25", "::/0"]
    block:
      - {{ list: gambling, action: nx }}
      - {{ list: rpz, action: refused }}
default_policy: refused
"""

FILES = {"allow.txt": ALLOW_TXT, "lists/small.adblock": SMALL_ADBLOCK,
         "lists/policy.rpz": POLICY_RPZ, "lists/pat.txt": PATTERNS}


class PolicyGroupsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())
        cls.proxy = cls.class_fake(RecordingProxy(cls.knot))
        cls.server = cls.class_policy_sinkholed([cls.proxy.upstream], POLICY_YAML, FILES)

    def setUp(self):
        self.before = self.server.stats()
        self.proxy_before = len(self.proxy.queries())

    def upstream_names(self):
        return [e["qname"].lower() for e in self.proxy.queries()[self.proxy_before:]]

    def assertForwarded(self, m, name, a):
        """Answered from the upstream (knotd): A `a`, and the name reached the upstream."""
        self.assertAnswerIs(m, NOERROR, [(name + ".", "A", 600, a)])
        self.assertIn(name + ".", self.upstream_names())

    def assertSinkholed(self, m, name):
        self.assertAnswerIs(m, NOERROR, [(name + ".", "A", 60, "203.0.113.10")])

    # -- two groups ---------------------------------------------------------------------
    def test_two_groups_get_different_policies(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                # gambling: subscribers → sinkhole, business → nxdomain (rule actions)
                self.assertSinkholed(self.server.ask(SUBSCRIBER, G, "A", tcp=tcp), G)
                m = self.server.ask(BUSINESS, G, "A", tcp=tcp)
                self.assertAnswerIs(m, NXDOMAIN, [])
                self.assertSynthSoa(m, G, 120)
                # social: subscribers → the list's default action (nx), business → served
                m = self.server.ask(SUBSCRIBER, "www." + S, "A", tcp=tcp)
                self.assertAnswerIs(m, NXDOMAIN, [])
                self.assertSynthSoa(m, S, 120)
                self.assertForwarded(self.server.ask(BUSINESS, S, "A", tcp=tcp), S,
                                     "192.0.2.90")
        self.assertNotIn(G + ".", self.upstream_names())
        self.assertNotIn("www." + S + ".", self.upstream_names())

    def test_kdig_bound_to_each_client_address(self):
        r = self.server.kdig_from(SUBSCRIBER, G, "A")
        self.assertSinkholed(r, G)
        r = self.server.kdig_from(BUSINESS, G, "A")
        self.assertEqual(r.rcode, NXDOMAIN, repr(r))

    def test_longest_prefix_wins(self):
        cases = [(IN_24, "subscribers"), (IN_25, "business"), (IN_32, "vip"),
                 (SUBSCRIBER, "subscribers"), (BUSINESS, "business")]
        for src, policy in cases:
            with self.subTest(src=src, policy=policy):
                m = self.server.ask(src, G, "A")
                if policy == "subscribers":
                    self.assertSinkholed(m, G)
                elif policy == "business":
                    self.assertEqual(m.rcode, NXDOMAIN, repr(m))
                else:  # vip blocks nothing
                    self.assertForwarded(m, G, "192.0.2.93")

    def test_ipv6_client_longest_prefix(self):
        # ::1 is in subscribers (/128) and in business (::/0): the /128 wins.
        self.assertTrue(self.server.ipv6, "::1 is not available")
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                self.assertSinkholed(self.server.ask("::1", G, "A", tcp=tcp), G)

    def test_client_in_no_group_is_refused(self):
        for name in (G, "www.example.test", S):
            for tcp in (False, True):
                with self.subTest(name=name, transport="tcp" if tcp else "udp"):
                    m = self.server.ask(NOBODY, name, "A", tcp=tcp, edns=True)
                    self.assertAnswerIs(m, REFUSED, [])
                    self.assertEqual(m.authority, [], repr(m))
        self.assertEqual(self.upstream_names(), [], "a refused client must not reach upstream")
        self.assertCounters(self.server, self.before, refused_no_policy=6, blocked=0,
                            upstream_queries=0)

    def test_unlisted_names_are_served_to_every_group(self):
        for src in (SUBSCRIBER, BUSINESS, IN_32):
            with self.subTest(src=src):
                m = self.server.ask(src, "www.example.test", "A")
                self.assertAnswerIs(m, NOERROR, [("www.example.test.", "A", 3600, "192.0.2.1")])

    # -- allow lists and exceptions --------------------------------------------------------
    def test_allow_list_wins_over_block_lists(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                # www.G is allowed (and so is its subdomain); G itself stays blocked.
                self.assertForwarded(self.server.ask(SUBSCRIBER, "www." + G, "A", tcp=tcp),
                                     "www." + G, "192.0.2.91")
                self.assertForwarded(self.server.ask(SUBSCRIBER, "x.www." + G, "A", tcp=tcp),
                                     "x.www." + G, "192.0.2.96")
                self.assertSinkholed(self.server.ask(SUBSCRIBER, G, "A", tcp=tcp), G)
                self.assertSinkholed(self.server.ask(SUBSCRIBER, "other." + G, "A", tcp=tcp),
                                     "other." + G)
                # kids.adtest.test is blocked by the AdBlock list but allowed.
                self.assertForwarded(self.server.ask(SUBSCRIBER, "kids.adtest.test", "A",
                                                     tcp=tcp), "kids.adtest.test", "192.0.2.95")

    def test_adblock_exception_wins(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                for name in ("ads.adtest.test", "x.ads.adtest.test"):
                    m = self.server.ask(SUBSCRIBER, name, "A", tcp=tcp)
                    self.assertAnswerIs(m, NXDOMAIN, [])
                    self.assertSynthSoa(m, "ads.adtest.test", 300)
                self.assertForwarded(self.server.ask(SUBSCRIBER, "good.ads.adtest.test", "A",
                                                     tcp=tcp), "good.ads.adtest.test",
                                     "192.0.2.92")
                self.assertForwarded(self.server.ask(SUBSCRIBER, "sub.good.ads.adtest.test",
                                                     "A", tcp=tcp),
                                     "sub.good.ads.adtest.test", "192.0.2.94")

    def test_pattern_list(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                for name in ("casino1.pat.test", "casino42.pat.test"):
                    m = self.server.ask(SUBSCRIBER, name, "A", tcp=tcp)
                    self.assertAnswerIs(m, NXDOMAIN, [])
                    self.assertEqual(m.records("authority", "SOA")[0].ttl, 300, repr(m))
                self.assertForwarded(self.server.ask(SUBSCRIBER, "casino.pat.test", "A",
                                                     tcp=tcp), "casino.pat.test", "192.0.2.97")
                self.assertForwarded(self.server.ask(SUBSCRIBER, "casino7x.pat.test", "A",
                                                     tcp=tcp), "casino7x.pat.test",
                                     "192.0.2.98")
        self.assertNotIn("casino1.pat.test.", self.upstream_names())
        self.assertNotIn("casino42.pat.test.", self.upstream_names())
        # business has no pattern list: the name goes upstream (knotd: NXDOMAIN, its SOA)
        m = self.server.ask(BUSINESS, "casino42.pat.test", "A")
        self.assertEqual(m.rcode, NXDOMAIN, repr(m))
        self.assertEqual(m.records("authority", "SOA")[0].name, "pat.test.", repr(m))
        self.assertIn("casino42.pat.test.", self.upstream_names())

    # -- RPZ ------------------------------------------------------------------------------
    def test_rpz_nxdomain_and_nodata(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                for name, owner in (("nx.policy.test", "nx.policy.test"),
                                    ("a.nx.policy.test", "nx.policy.test"),
                                    ("other.policy.test", "policy.test")):
                    m = self.server.ask(SUBSCRIBER, name, "A", tcp=tcp)
                    self.assertAnswerIs(m, NXDOMAIN, [])
                    self.assertSynthSoa(m, owner, 300)
                m = self.server.ask(SUBSCRIBER, "nodata.policy.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [])
                self.assertSynthSoa(m, "nodata.policy.test", 300)
        for name in ("nx.policy.test.", "a.nx.policy.test.", "other.policy.test.",
                     "nodata.policy.test."):
            self.assertNotIn(name, self.upstream_names())

    def test_rpz_passthru_beats_wildcard(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                self.assertForwarded(self.server.ask(SUBSCRIBER, "pass.policy.test", "A",
                                                     tcp=tcp), "pass.policy.test", "192.0.2.70")
                # The apex is not covered by *.policy.test.
                self.assertForwarded(self.server.ask(SUBSCRIBER, "policy.test", "A", tcp=tcp),
                                     "policy.test", "192.0.2.72")

    def test_rpz_drop(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                reply = self.server.raw_from(SUBSCRIBER, build_query("drop.policy.test", "A"),
                                             tcp=tcp, timeout=1.0)
                self.assertIsNone(reply, f"rpz-drop must not answer: {reply and parse(reply)!r}")
        self.assertNotIn("drop.policy.test.", self.upstream_names())

    def test_rpz_tcp_only(self):
        for qtype in ("A", "MX"):
            with self.subTest(qtype=qtype, transport="udp"):
                m = self.server.ask(SUBSCRIBER, "tcponly.policy.test", qtype)
                self.assertTrue(m.tc, f"rpz-tcp-only over UDP must set TC: {m!r}")
                self.assertEqual(m.answer, [], repr(m))
        self.assertNotIn("tcponly.policy.test.", self.upstream_names())
        for qtype in ("A", "MX"):
            with self.subTest(qtype=qtype, transport="tcp"):
                want = self.knot.query("tcponly.policy.test", qtype)
                m = self.server.ask(SUBSCRIBER, "tcponly.policy.test", qtype, tcp=True)
                self.assertFalse(m.tc, repr(m))
                self.assertEqual([(r.name, r.type, r.ttl, repr(r.value())) for r in m.answer],
                                 [(r.name, r.type, r.ttl, repr(r.value())) for r in want.answer])
                self.assertTrue(m.answer, repr(m))

    def test_rpz_local_data(self):
        for tcp in (False, True):
            with self.subTest(transport="tcp" if tcp else "udp"):
                m = self.server.ask(SUBSCRIBER, "local.policy.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [("local.policy.test.", "A", 120, "192.0.2.66")])
                m = self.server.ask(SUBSCRIBER, "local.policy.test", "AAAA", tcp=tcp)
                self.assertAnswerIs(m, NOERROR,
                                    [("local.policy.test.", "AAAA", 120, "2001:db8::66")])
                m = self.server.ask(SUBSCRIBER, "local.policy.test", "MX", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [])
                self.assertSynthSoa(m, "local.policy.test", 300)
                # `CNAME other.name.`: the rule's CNAME, then the target resolved (as BIND,
                # PowerDNS and Unbound answer it).
                m = self.server.ask(SUBSCRIBER, "redir.policy.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [
                    ("redir.policy.test.", "CNAME", 90, "www.example.test."),
                    ("www.example.test.", "A", 3600, "192.0.2.1")])
        for name in ("local.policy.test.", "redir.policy.test."):
            self.assertNotIn(name, self.upstream_names())
        self.assertIn("www.example.test.", self.upstream_names())

    def test_policy_action_overrides_rpz_actions(self):
        # business: {list: rpz, action: refused} — every RPZ hit is REFUSED, whatever the
        # zone says; an rpz-passthru is still an exception.
        for tcp in (False, True):
            for name in ("nx.policy.test", "nodata.policy.test", "local.policy.test",
                         "redir.policy.test", "drop.policy.test", "tcponly.policy.test",
                         "other.policy.test"):
                with self.subTest(name=name, transport="tcp" if tcp else "udp"):
                    m = self.server.ask(BUSINESS, name, "A", tcp=tcp)
                    self.assertAnswerIs(m, REFUSED, [])
                    self.assertFalse(m.tc, repr(m))
            self.assertForwarded(self.server.ask(BUSINESS, "pass.policy.test", "A", tcp=tcp),
                                 "pass.policy.test", "192.0.2.70")


DEFAULT_YAML = f"""\
lists:
  gambling: {{ path: "{blocklist_path(GAMBLING)}", category: gambling }}
policies:
  - name: staff
    clients: ["{SUBSCRIBER}/32"]
  - name: guests
    block: [gambling]
default_policy: guests
"""

NO_POLICIES_YAML = f"""\
lists:
  gambling: {{ path: "{blocklist_path(GAMBLING)}", category: gambling }}
"""


class DefaultPolicyTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())
        cls.with_default = cls.class_policy_sinkholed([cls.knot.upstream], DEFAULT_YAML)
        cls.no_policies = cls.class_policy_sinkholed([cls.knot.upstream], NO_POLICIES_YAML)

    def test_named_default_policy_for_clients_in_no_group(self):
        before = self.with_default.stats()
        for src in (NOBODY, BUSINESS, "127.0.9.9"):
            with self.subTest(src=src):
                m = self.with_default.ask(src, G, "A")
                self.assertAnswerIs(m, NXDOMAIN, [])
                self.assertSynthSoa(m, G, 300)
                m = self.with_default.ask(src, "www.example.test", "A")
                self.assertAnswerIs(m, NOERROR, [("www.example.test.", "A", 3600, "192.0.2.1")])
        m = self.with_default.ask(SUBSCRIBER, G, "A")
        self.assertAnswerIs(m, NOERROR, [(G + ".", "A", 600, "192.0.2.93")])
        self.assertCounters(self.with_default, before, refused_no_policy=0, blocked=3)

    def test_without_policies_every_client_is_served(self):
        for src in (NOBODY, SUBSCRIBER, "127.0.9.9"):
            with self.subTest(src=src):
                m = self.no_policies.ask(src, G, "A")
                self.assertAnswerIs(m, NOERROR, [(G + ".", "A", 600, "192.0.2.93")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
