# SPDX-License-Identifier: MIT
"""Forwarding to a real knotd: every record type and answer shape of the test zones comes
back unchanged (records, TTLs passed through, negative answers with their SOA), over UDP
and TCP, on IPv4 and ::1, asked with kdig."""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, build_query  # noqa: E402
from processes import SinkholedTestCase, run_concurrently  # noqa: E402
from zones import MANY_A, SOA_MINIMUM, SOA_MINIMUM_NEG, TXT_1K, TXT_2K, TXT_4K5  # noqa: E402


def records_of(msg, section):
    # Decoded values, so that a different name compression does not matter.
    return [(x.name.lower(), x.type, x.ttl, repr(x.value())) for x in getattr(msg, section)]


class ForwardingTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(ipv6=True)
        cls.server = cls.class_sinkholed([cls.knot.upstream], workers=2)

    def each_transport(self):
        """(label, addr, tcp) for UDP/TCP × every listen address (IPv4 and ::1)."""
        self.assertTrue(self.server.ipv6, "::1 is not available on this machine")
        for addr, _ in self.server.endpoints():
            for tcp in (False, True):
                yield f"{addr} {'tcp' if tcp else 'udp'}", addr, tcp

    def ask(self, name, qtype, *opts, addr, tcp):
        r = self.server.kdig(name, qtype, *opts, addr=addr, tcp=tcp)
        self.assertIsNotNone(r.msg, f"no answer: {r.argv} {r.stdout} {r.stderr}")
        self.assertTrue(r.qr and r.ra, f"QR and RA must be set: {r!r}")
        self.assertFalse(r.tc, f"unexpected TC: {r!r}")
        return r

    def test_a(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("www.example.test", "A", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR, [("www.example.test.", "A", 3600, "192.0.2.1")])

    def test_aaaa(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("www.example.test", "AAAA", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR,
                                    [("www.example.test.", "AAAA", 3600, "2001:db8::1")])

    def test_mx(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("example.test", "MX", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR, [
                    ("example.test.", "MX", 3600, (10, "mail.example.test.")),
                    ("example.test.", "MX", 3600, (20, "mail2.example.test."))])

    def test_short_ttl_passed_through(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("short.example.test", "A", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR, [("short.example.test.", "A", 300, "192.0.2.30")])

    def test_txt_1k(self):
        want = [s.encode() for s in TXT_1K]
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                # ~1.1 KB: fits in 1232 with EDNS over UDP, and anything over TCP.
                r = self.ask("txt1k.example.test", "TXT", "+bufsize=1232", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR, [("txt1k.example.test.", "TXT", 3600, want)])

    def test_txt_2k_and_4k5_over_tcp(self):
        for name, strings in (("txt2k", TXT_2K), ("txt45k", TXT_4K5)):
            want = [s.encode() for s in strings]
            for addr, _ in self.server.endpoints():
                with self.subTest(f"{name} {addr}"):
                    r = self.ask(f"{name}.example.test", "TXT", "+bufsize=1232", addr=addr,
                                 tcp=True)
                    self.assertAnswerIs(r, NOERROR,
                                        [(f"{name}.example.test.", "TXT", 3600, want)])
                    self.assertGreater(r.size, 2000)

    def test_90_record_rrset_over_tcp(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                r = self.ask("many.example.test", "A", addr=addr, tcp=True)
                self.assertEqual(r.ancount, 90)
                self.assertAnswerIs(r, NOERROR,
                                    [("many.example.test.", "A", 3600, a) for a in MANY_A])

    def test_cname_chain_inside_zone(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("c1.example.test", "A", addr=addr, tcp=tcp)
                self.assertEqual(r.rcode, NOERROR)
                chain = [(x.name, x.type_name, x.ttl, x.value()) for x in r.answer]
                # Order matters: a chain is followed from the question name.
                self.assertEqual(chain, [
                    ("c1.example.test.", "CNAME", 3600, "c2.example.test."),
                    ("c2.example.test.", "CNAME", 300, "c3.example.test."),
                    ("c3.example.test.", "CNAME", 3600, "www.example.test."),
                    ("www.example.test.", "A", 3600, "192.0.2.1")])

    def test_cname_chain_across_zones(self):
        # knotd, authoritative for both zones, answers x1 with only its CNAME into
        # other.test (checked); sinkholed follows the chain as a resolver does: x2 → target
        # lives in other.test, and the client gets all of it.
        direct = self.knot.query("x1.example.test.", "A")
        self.assertEqual([(x.name, x.type_name, x.ttl, x.value()) for x in direct.answer],
                         [("x1.example.test.", "CNAME", 3600, "x2.other.test.")])
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("x1.example.test", "A", addr=addr, tcp=tcp)
                self.assertEqual(r.rcode, NOERROR)
                self.assertEqual([(x.name, x.type_name, x.ttl, x.value()) for x in r.answer], [
                    ("x1.example.test.", "CNAME", 3600, "x2.other.test."),
                    ("x2.other.test.", "CNAME", 300, "target.other.test."),
                    ("target.other.test.", "A", 3600, "192.0.2.200")])

    def test_wildcard(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                name = f"w{random.randrange(10**6)}.wild.example.test"
                r = self.ask(name, "A", addr=addr, tcp=tcp)
                self.assertAnswerIs(r, NOERROR, [(name + ".", "A", 300, "192.0.2.99")])

    def test_nxdomain_keeps_soa(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                r = self.ask("nope.example.test", "A", addr=addr, tcp=tcp)
                self.assertEqual(r.rcode, NXDOMAIN, repr(r))
                self.assertEqual(r.answer, [])
                soa = r.records("authority", "SOA")
                self.assertEqual(len(soa), 1, repr(r))
                self.assertEqual(soa[0].name, "example.test.")
                self.assertEqual(soa[0].ttl, SOA_MINIMUM)
                self.assertEqual(soa[0].value()["minimum"], SOA_MINIMUM)
                self.assertEqual(soa[0].value()["serial"], 2024010101)
                # A zone whose SOA minimum (120) is below its SOA TTL (600).
                r = self.ask("nope.neg.test", "A", addr=addr, tcp=tcp)
                self.assertEqual(r.rcode, NXDOMAIN)
                soa = r.records("authority", "SOA")
                self.assertEqual([(s.name, s.ttl, s.value()["minimum"]) for s in soa],
                                 [("neg.test.", SOA_MINIMUM_NEG, SOA_MINIMUM_NEG)])

    def test_nodata_keeps_soa(self):
        for label, addr, tcp in self.each_transport():
            with self.subTest(label):
                for qtype in ("AAAA", "MX"):
                    r = self.ask("nodata.example.test", qtype, addr=addr, tcp=tcp)
                    self.assertEqual(r.rcode, NOERROR, repr(r))
                    self.assertEqual(r.answer, [])
                    soa = r.records("authority", "SOA")
                    self.assertEqual([(s.name, s.ttl) for s in soa],
                                     [("example.test.", SOA_MINIMUM)], repr(r))

    def test_same_records_as_knot(self):
        """Answer and authority sections equal knotd's own, record for record."""
        cases = [("www.example.test.", "A"), ("example.test.", "MX"), ("c1.example.test.", "A"),
                 ("nope.example.test.", "TXT"), ("nodata.example.test.", "AAAA"),
                 ("www.signed.test.", "AAAA"), ("x2.other.test.", "A"),
                 ("exists.neg.test.", "A"), ("txt300.example.test.", "TXT")]
        for name, qtype in cases:
            for tcp in (False, True):
                with self.subTest(f"{name} {qtype} tcp={tcp}"):
                    q = build_query(name, qtype)
                    direct = self.knot.query(name, qtype)
                    r = self.server.tcp(q) if tcp else self.server.udp(q)
                    self.assertEqual(r.rcode, direct.rcode)
                    for section in ("answer", "authority"):
                        self.assertEqual(records_of(r, section), records_of(direct, section),
                                         section)

    def test_ipv6_upstream(self):
        s = self.start_sinkholed([f"[::1]:{self.knot.port}"])
        for tcp in (False, True):
            r = s.kdig("www.example.test", "AAAA", addr="::1", tcp=tcp)
            self.assertAnswerIs(r, NOERROR, [("www.example.test.", "AAAA", 3600, "2001:db8::1")])
            r = s.kdig("many.example.test", "A", addr=s.addr, tcp=tcp)
            self.assertEqual(r.tc, not tcp)

    def test_many_concurrent_queries(self):
        names = ([("www.example.test.", "A", ["192.0.2.1"]),
                  ("mail.example.test.", "A", ["192.0.2.25"]),
                  ("www.example.test.", "AAAA", ["2001:db8::1"]),
                  ("short.example.test.", "A", ["192.0.2.30"])] * 10
                 + [(f"n{i}.wild.example.test.", "A", ["192.0.2.99"]) for i in range(40)])

        def one(i, name, qtype, want):
            addr = self.server.endpoints()[i % 2][0]
            q = build_query(name, qtype, id=i)
            r = self.server.udp(q, addr=addr, timeout=5) if i % 3 else \
                self.server.tcp(q, addr=addr, timeout=5)
            return r.id == i and r.values(qtype) == want
        batch = 20
        for start in range(0, len(names), batch):
            chunk = names[start:start + batch]
            ok = run_concurrently([lambda i=start + j, c=c: one(i, *c) for j, c in enumerate(chunk)])
            self.assertTrue(all(ok), f"wrong answers in batch at {start}: {ok}")

    def test_counts_queries(self):
        before = self.server.stats()
        for addr, _ in self.server.endpoints():
            self.ask("www.example.test", "A", addr=addr, tcp=False)
            self.ask("www.example.test", "A", addr=addr, tcp=True)
            self.ask("nope.example.test", "A", addr=addr, tcp=False)
        self.assertCounters(self.server, before, queries_udp=4, queries_tcp=2,
                            answers_noerror=4, answers_nxdomain=2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
