# SPDX-License-Identifier: MIT
"""CNAME-chain blocking: knotd serves `alias.chain.test CNAME casino.blocked.test` (and
longer chains, and DNAMEs) where the target is on a block list. A client asking for the
alias gets the block action for its own question — nxdomain, sinkhole (A for the alias
itself), cname to the warning host — and none of the upstream's records; the counters
`blocked` and `blocked_cname_chain` move. The same chain is served in full to a group that
does not block the list, or whose allow list names the target; a chain to an unlisted
name passes — finished by sinkholed when knotd leaves it at a name outside its zone."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from zones import soa_zone_text, zone_files  # noqa: E402

C_NX = "127.0.0.2"
C_SINK = "127.0.0.3"
C_OPEN = "127.0.0.5"     # blocks nothing
C_ALLOW = "127.0.0.6"    # blocks the list but allows casino.blocked.test
C_REDIRECT = "127.0.0.7"  # cname action to www.example.test

BLOCKED_TXT = """\
# the targets of the chains
casino.blocked.test
bad.chain.test
"""

ALLOW_TXT = "casino.blocked.test\n"


def zones():
    z = zone_files()
    z["chain.test"] = soa_zone_text("chain.test", [
        "alias 600 IN CNAME casino.blocked.test.",
        # two hops, the last one into a subdomain of the listed name
        "alias2 600 IN CNAME hop.chain.test.",
        "hop 600 IN CNAME www.casino.blocked.test.",
        # deeper below the listed name than the question has labels
        "deep 600 IN CNAME a.b.c.casino.blocked.test.",
        "ok 600 IN CNAME www.example.test.",
        "d 600 IN DNAME casino.blocked.test.",
        "fine 600 IN DNAME example.test.",
        "mxalias 600 IN CNAME casino.blocked.test.",
        # inside the zone: knotd answers the CNAME and the target's records
        "inzone 600 IN CNAME bad.chain.test.",
        "bad 600 IN A 192.0.2.160",
    ])
    z["blocked.test"] = soa_zone_text("blocked.test", [
        "casino 600 IN A 192.0.2.150",
        "casino 600 IN MX 10 casino.blocked.test.",
        "www.casino 600 IN A 192.0.2.151",
        "a.b.c.casino 600 IN A 192.0.2.152",
        "x.casino 600 IN A 192.0.2.153",
    ])
    return z


POLICY_YAML = f"""\
lists:
  blocked: {{ path: blocked.txt, category: gambling }}
  ok_targets: {{ path: allow.txt }}
actions:
  nx: {{ type: nxdomain, soa_ttl: 100, ede: censored, ede_text: "chain to {{list}} line {{line}}" }}
  warn: {{ type: sinkhole, a: 203.0.113.10, aaaa: "2001:db8::10", ttl: 50, soa_ttl: 40 }}
  redirect: {{ type: cname, target: www.example.test, ttl: 70 }}
policies:
  - name: nx
    clients: ["{C_NX}/32"]
    block: [{{ list: blocked, action: nx }}]
  - name: sink
    clients: ["{C_SINK}/32"]
    block: [{{ list: blocked, action: warn }}]
  - name: open
    clients: ["{C_OPEN}/32"]
  - name: allow
    clients: ["{C_ALLOW}/32"]
    allow: [ok_targets]
    block: [{{ list: blocked, action: nx }}]
  - name: redirect
    clients: ["{C_REDIRECT}/32"]
    block: [{{ list: blocked, action: redirect }}]
"""

TRANSPORTS = (False, True)


def tname(tcp):
    return "tcp" if tcp else "udp"


def ancestors_or_self(name):
    labels = name.rstrip(".").lower().split(".")
    return [".".join(labels[i:]) + "." for i in range(len(labels))]


class CnameChainTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())
        cls.server = cls.class_policy_sinkholed(
            [cls.knot.upstream], POLICY_YAML, {"blocked.txt": BLOCKED_TXT, "allow.txt": ALLOW_TXT})

    def setUp(self):
        self.before = self.server.stats()

    def assertChainNx(self, m, qname):
        """NXDOMAIN for the client's own question: no upstream records, one synthesized SOA
        (TTL 100) whose owner is the question name or one of its ancestors — never a name
        the question is not inside (out of bailiwick), never the root."""
        self.assertAnswerIs(m, NXDOMAIN, [])
        soas = m.records("authority", "SOA")
        self.assertEqual(len(soas), 1, repr(m))
        owner = soas[0].name.lower()
        self.assertIn(owner, ancestors_or_self(qname),
                      f"SOA owner {owner} is not {qname} or one of its ancestors: {m!r}")
        self.assertNotEqual(owner, ".", f"a synthesized SOA owned by the root: {m!r}")
        self.assertSynthSoa(m, owner, 100)

    def test_alias_to_listed_name_gets_nxdomain(self):
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                m = self.server.ask(C_NX, "alias.chain.test", "A", tcp=tcp, edns=True)
                self.assertChainNx(m, "alias.chain.test")
                self.assertSynthSoa(m, "alias.chain.test", 100)
                self.assertEde(m, 16, "chain to blocked line 2")
                m = self.server.ask(C_NX, "alias.chain.test", "A", tcp=tcp)
                self.assertChainNx(m, "alias.chain.test")
                self.assertIsNone(m.opt, repr(m))
        self.assertCounters(self.server, self.before, blocked=4, blocked_cname_chain=4)

    def test_in_zone_chain_drops_every_upstream_record(self):
        ref = self.knot.query("inzone.chain.test", "A")
        self.assertEqual([r.type_name for r in ref.answer], ["CNAME", "A"], repr(ref))
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                m = self.server.ask(C_NX, "inzone.chain.test", "A", tcp=tcp, edns=True)
                self.assertChainNx(m, "inzone.chain.test")
                self.assertEde(m, 16, "chain to blocked line 3")
                m = self.server.ask(C_SINK, "inzone.chain.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [("inzone.chain.test.", "A", 50,
                                                  "203.0.113.10")])
        self.assertCounters(self.server, self.before, blocked=4, blocked_cname_chain=4)

    def test_two_hop_chain_into_a_subdomain(self):
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                self.assertChainNx(self.server.ask(C_NX, "alias2.chain.test", "A", tcp=tcp),
                                   "alias2.chain.test")
        self.assertCounters(self.server, self.before, blocked=2, blocked_cname_chain=2)

    def test_chain_deeper_than_the_question(self):
        # The target a.b.c.casino.blocked.test is 3 labels below the listed name; the
        # question deep.chain.test has only 3 labels in all.
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                self.assertChainNx(self.server.ask(C_NX, "deep.chain.test", "A", tcp=tcp),
                                   "deep.chain.test")

    def test_dname_to_listed_name(self):
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                ref = self.knot.query("x.d.chain.test", "A")
                self.assertIn("DNAME", [r.type_name for r in ref.answer], repr(ref))
                self.assertChainNx(self.server.ask(C_NX, "x.d.chain.test", "A", tcp=tcp),
                                   "x.d.chain.test")
        self.assertCounters(self.server, self.before, blocked=2, blocked_cname_chain=2)

    def test_sinkhole_answers_for_the_alias_itself(self):
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                m = self.server.ask(C_SINK, "alias.chain.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [("alias.chain.test.", "A", 50, "203.0.113.10")])
                self.assertNoSoa(m)
                m = self.server.ask(C_SINK, "mxalias.chain.test", "MX", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [])
                self.assertEqual(len(m.records("authority", "SOA")), 1, repr(m))
                self.assertEqual(m.records("authority", "SOA")[0].ttl, 40, repr(m))
        self.assertCounters(self.server, self.before, blocked=4, blocked_cname_chain=4)

    def test_cname_action_on_a_chain(self):
        for tcp in TRANSPORTS:
            with self.subTest(transport=tname(tcp)):
                m = self.server.ask(C_REDIRECT, "alias.chain.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [
                    ("alias.chain.test.", "CNAME", 70, "www.example.test."),
                    ("www.example.test.", "A", 3600, "192.0.2.1")])
        self.assertTrue(self.server.running())

    def assertSameAsKnot(self, m, name, qtype="A"):
        """knotd's answer with the chain finished: knotd answers a CNAME out of its zone
        with the CNAME alone (asserted here), and sinkholed follows it like a resolver —
        knotd's records for the question, then knotd's answer for the chain's end."""
        ref = self.knot.query(name, qtype)
        self.assertTrue(ref.answer, repr(ref))
        self.assertNotIn(qtype, [r.type_name for r in ref.answer], repr(ref))
        end = ref.answer[-1].value() if ref.answer[-1].type_name == "CNAME" else None
        self.assertIsNotNone(end, repr(ref))
        last = self.knot.query(end, qtype)
        self.assertTrue(last.answer, repr(last))
        self.assertEqual(m.rcode, last.rcode, repr(m))
        self.assertEqual([(r.name.lower(), r.type, r.ttl, repr(r.value())) for r in m.answer],
                         [(r.name.lower(), r.type, r.ttl, repr(r.value()))
                          for r in ref.answer + last.answer],
                         repr(m))

    def test_unlisted_target_passes(self):
        for tcp in TRANSPORTS:
            for name in ("ok.chain.test", "www.fine.chain.test"):
                with self.subTest(name=name, transport=tname(tcp)):
                    m = self.server.ask(C_NX, name, "A", tcp=tcp)
                    self.assertSameAsKnot(m, name)
                    self.assertEqual(m.values("CNAME")[-1:], ["www.example.test."], repr(m))
        self.assertCounters(self.server, self.before, blocked=0, blocked_cname_chain=0)

    def test_group_without_the_list_gets_the_whole_chain(self):
        for src in (C_OPEN, C_ALLOW):
            for tcp in TRANSPORTS:
                with self.subTest(src=src, transport=tname(tcp)):
                    m = self.server.ask(src, "alias.chain.test", "A", tcp=tcp)
                    self.assertSameAsKnot(m, "alias.chain.test")
                    self.assertEqual(m.values("CNAME"), ["casino.blocked.test."], repr(m))
        m = self.server.ask(C_OPEN, "inzone.chain.test", "A")
        self.assertAnswerIs(m, NOERROR, [("inzone.chain.test.", "CNAME", 600, "bad.chain.test."),
                                         ("bad.chain.test.", "A", 600, "192.0.2.160")])
        self.assertCounters(self.server, self.before, blocked=0, blocked_cname_chain=0)

    def test_listed_name_itself_blocked_without_upstream(self):
        m = self.server.ask(C_NX, "casino.blocked.test", "A")
        self.assertAnswerIs(m, NXDOMAIN, [])
        self.assertSynthSoa(m, "casino.blocked.test", 100)
        self.assertCounters(self.server, self.before, blocked=1, blocked_cname_chain=0,
                            upstream_queries=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
