# SPDX-License-Identifier: MIT
"""Meta queries, answered without asking the upstream: AXFR/IXFR → REFUSED over UDP and
TCP; CH TXT version.bind / id.server → REFUSED unless server.version / server.identity
are set, then that text; ANY → one HINFO "RFC8482" "" (RFC 8482)."""

import os
import sys
import unittest

import dns.rdataclass
import dns.rrset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, REFUSED, build_query, mixed_case, parse  # noqa: E402
from processes import SinkholedTestCase  # noqa: E402

VERSION_TEXT = "sinkholed 0.1 test build"
IDENTITY_TEXT = "ns1.example"
CHAOS_VERSION_NAMES = ("version.bind.", "version.server.")
CHAOS_ID_NAMES = ("id.server.", "hostname.bind.")


def ixfr_query(zone, serial, qid=None):
    """An IXFR query: the client's SOA (its serial) in the authority section."""
    soa = dns.rrset.from_text(zone, 0, "IN", "SOA", f"ns1.{zone} h.{zone} {serial} 0 0 0 0")
    return build_query(zone, "IXFR", id=qid, authority=[soa])


class MetaTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.plain = cls.class_sinkholed([cls.knot.upstream])
        cls.named = cls.class_sinkholed([cls.knot.upstream], server={
            "version": VERSION_TEXT, "identity": IDENTITY_TEXT})

    def sends(self, server):
        for addr, _ in server.endpoints():
            yield f"{addr} udp", lambda q, a=addr: server.udp(q, addr=a)
            yield f"{addr} tcp", lambda q, a=addr: server.tcp(q, addr=a)

    def test_zone_transfers_refused(self):
        s = self.plain
        before = s.stats()
        n = 0
        for label, send in self.sends(s):
            for kind, q in (("AXFR", build_query("example.test.", "AXFR")),
                            ("IXFR", ixfr_query("example.test.", 2024010100))):
                with self.subTest(f"{label} {kind}"):
                    r = send(q)
                    n += 1
                    self.assertEqual(r.rcode, REFUSED, repr(r))
                    self.assertEqual(r.answer, [])
                    self.assertEqual(r.question_bytes, parse(q).question_bytes)
                    self.assertEqual(r.id, parse(q).id)
        self.assertCounters(s, before, refused_zone_transfer=n, answers_refused=n,
                            upstream_queries=0)

    def test_zone_transfers_refused_kdig(self):
        for addr, _ in self.plain.endpoints():
            with self.subTest(addr):
                r = self.plain.kdig("example.test", "AXFR", addr=addr, tcp=True)
                self.assertEqual(r.rcode, REFUSED, r.stdout)
                r = self.plain.kdig("example.test", "IXFR=2024010100", addr=addr, tcp=True)
                self.assertEqual(r.rcode, REFUSED, r.stdout)

    def test_chaos_refused_by_default(self):
        s = self.plain
        before = s.stats()
        n = 0
        for label, send in self.sends(s):
            for name in CHAOS_VERSION_NAMES + CHAOS_ID_NAMES:
                with self.subTest(f"{label} {name}"):
                    r = send(build_query(name, "TXT", "CH"))
                    n += 1
                    self.assertEqual(r.rcode, REFUSED, repr(r))
                    self.assertEqual(r.answer, [])
        self.assertCounters(s, before, refused_chaos=n, answered_chaos=0, upstream_queries=0)

    def test_chaos_answered_when_configured(self):
        s = self.named
        before = s.stats()
        n = 0
        for label, send in self.sends(s):
            for names, text in ((CHAOS_VERSION_NAMES, VERSION_TEXT),
                                (CHAOS_ID_NAMES, IDENTITY_TEXT)):
                for name in names:
                    with self.subTest(f"{label} {name}"):
                        mixed = mixed_case(name)
                        q = build_query(mixed, "TXT", "CH")
                        r = send(q)
                        n += 1
                        self.assertEqual(r.rcode, NOERROR, repr(r))
                        self.assertEqual(r.question_bytes, parse(q).question_bytes)
                        self.assertEqual(len(r.answer), 1, repr(r))
                        a = r.answer[0]
                        self.assertEqual((a.name.lower(), a.type_name, a.rclass),
                                         (name, "TXT", dns.rdataclass.CH))
                        self.assertEqual(a.value(), [text.encode()])
        self.assertCounters(s, before, answered_chaos=n, refused_chaos=0, upstream_queries=0)

    def test_chaos_with_kdig(self):
        r = self.named.kdig("version.bind", "TXT", qclass="CH")
        self.assertEqual(r.values("TXT"), [[VERSION_TEXT.encode()]])
        r = self.named.kdig("id.server", "TXT", qclass="CH", tcp=True)
        self.assertEqual(r.values("TXT"), [[IDENTITY_TEXT.encode()]])
        r = self.plain.kdig("version.bind", "TXT", qclass="CH")
        self.assertEqual(r.rcode, REFUSED)

    def test_any_rfc8482(self):
        s = self.plain
        before = s.stats()
        n = 0
        for label, send in self.sends(s):
            for name in ("example.test.", "wWw.ExAmPlE.tEsT.", "nope.example.test."):
                for edns in (None, True):
                    with self.subTest(f"{label} {name} edns={edns}"):
                        q = build_query(name, "ANY", edns=edns)
                        r = send(q)
                        n += 1
                        self.assertEqual(r.rcode, NOERROR, repr(r))
                        self.assertEqual(r.question_bytes, parse(q).question_bytes)
                        self.assertEqual(len(r.answer), 1, repr(r))
                        a = r.answer[0]
                        self.assertEqual((a.name.lower(), a.type_name, a.rclass, a.ttl),
                                         (name.lower(), "HINFO", 1, 3600))
                        self.assertEqual(a.value(), [b"RFC8482", b""])
                        self.assertEqual(r.opt_count, 1 if edns else 0)
        self.assertCounters(s, before, answered_any_rfc8482=n, upstream_queries=0)

    def test_any_with_kdig(self):
        for addr, _ in self.plain.endpoints():
            for tcp in (False, True):
                with self.subTest(f"{addr} tcp={tcp}"):
                    r = self.plain.kdig("www.example.test", "ANY", addr=addr, tcp=tcp)
                    self.assertEqual([(x.type_name, x.ttl, tuple(x.value())) for x in r.answer],
                                     [("HINFO", 3600, (b"RFC8482", b""))])

    def test_other_class_refused(self):
        s = self.plain
        before = s.stats()
        r = s.udp(build_query("www.example.test.", "A", "HS"))
        self.assertEqual(r.rcode, REFUSED, repr(r))
        self.assertCounters(s, before, refused_class=1, upstream_queries=0)

    def test_still_forwards_normal_queries(self):
        for s in (self.plain, self.named):
            r = s.udp(build_query("www.example.test.", "A"))
            self.assertEqual(r.values("A"), ["192.0.2.1"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
