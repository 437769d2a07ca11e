# SPDX-License-Identifier: MIT
"""What every answer echoes and sets: the ID, the question bytes exactly as sent (0x20
mixed case), RD, CD and the opcode; QR and RA; an OPT (version 0, our payload) only when
the client sent one, without the client's unknown options and flags; the DO bit reaching
the upstream so that DO=1 gets RRSIGs and DO=0 does not."""

import os
import random
import sys
import unittest

import dns.name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    NOERROR, NOTIMP, NXDOMAIN, REFUSED, OPCODE_IQUERY, OPCODE_NOTIFY, OPCODE_QUERY, OPCODE_STATUS,
    OPCODE_UPDATE, build_query, mixed_case, parse,
)
from processes import SinkholedTestCase  # noqa: E402

OUR_PAYLOAD = 1232  # the server default


class EchoTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream])

    def transports(self):
        for addr, _ in self.server.endpoints():
            yield f"{addr} udp", lambda q, a=addr: self.server.udp(q, addr=a)
            yield f"{addr} tcp", lambda q, a=addr: self.server.tcp(q, addr=a)

    # Queries answered by different paths: forwarded, negative, local, truncated, etc.
    def query_kinds(self):
        return [
            ("forwarded A", "www.example.test.", "A", "IN"),
            ("forwarded NXDOMAIN", "nope.example.test.", "A", "IN"),
            ("forwarded CNAME chain", "c1.example.test.", "A", "IN"),
            ("local CH REFUSED", "version.bind.", "TXT", "CH"),
            ("local ANY", "www.example.test.", "ANY", "IN"),
            ("truncated over UDP", "txt2k.example.test.", "TXT", "IN"),
        ]

    def test_id_is_echoed(self):
        for label, send in self.transports():
            for qid in (0, 1, 0x8000, 0xFFFF, random.randrange(65536)):
                with self.subTest(f"{label} id={qid}"):
                    r = send(build_query("www.example.test.", "A", id=qid))
                    self.assertEqual(r.id, qid)
                    self.assertEqual(r.rcode, NOERROR)

    def test_question_bytes_echoed_exactly_with_mixed_case(self):
        rng = random.Random(0x20)
        for label, send in self.transports():
            for kind, name, qtype, qclass in self.query_kinds():
                with self.subTest(f"{label} {kind}"):
                    mixed = mixed_case(name, rng)
                    q = build_query(mixed, qtype, qclass, edns=True)
                    r = send(q)
                    qbytes = parse(q).question_bytes  # the name in its mixed case
                    self.assertEqual(r.qdcount, 1)
                    self.assertEqual(r.wire[12:12 + len(qbytes)], qbytes,
                                     f"question not echoed byte for byte: {r!r}")

    def test_mixed_case_answer_records_still_correct(self):
        r = self.server.udp(build_query("wWw.ExAmPlE.tEsT.", "A"))
        self.assertEqual(r.rcode, NOERROR)
        self.assertEqual([(x.name.lower(), x.value()) for x in r.answer],
                         [("www.example.test.", "192.0.2.1")])

    def test_rd_and_cd_echoed_qr_ra_set(self):
        for label, send in self.transports():
            for rd in (False, True):
                for cd in (False, True):
                    for kind, name, qtype, qclass in self.query_kinds():
                        with self.subTest(f"{label} {kind} rd={rd} cd={cd}"):
                            r = send(build_query(name, qtype, qclass, rd=rd, cd=cd))
                            self.assertEqual(r.rd, rd, repr(r))
                            self.assertEqual(r.cd, cd, repr(r))
                            self.assertTrue(r.qr, repr(r))
                            self.assertTrue(r.ra, repr(r))
                            self.assertEqual(r.opcode, OPCODE_QUERY)

    def test_opcode_echoed_on_notimp(self):
        for label, send in self.transports():
            for opcode in (OPCODE_IQUERY, OPCODE_STATUS, OPCODE_UPDATE):
                with self.subTest(f"{label} opcode={opcode}"):
                    r = send(build_query("www.example.test.", "A", opcode=opcode, id=4242))
                    self.assertEqual(r.rcode, NOTIMP, repr(r))
                    self.assertEqual(r.opcode, opcode)
                    self.assertEqual(r.id, 4242)
                    self.assertTrue(r.qr)
            # NOTIFY is implemented for RPZ feed lists (test_rpz_secondary.py): for a zone
            # that is none of ours, REFUSED with the opcode and ID echoed.
            with self.subTest(f"{label} opcode=NOTIFY"):
                r = send(build_query("www.example.test.", "SOA", opcode=OPCODE_NOTIFY, id=4242))
                self.assertEqual(r.rcode, REFUSED, repr(r))
                self.assertEqual(r.opcode, OPCODE_NOTIFY)
                self.assertEqual(r.id, 4242)
                self.assertTrue(r.qr)

    def test_opt_only_when_client_sent_one(self):
        for label, send in self.transports():
            for kind, name, qtype, qclass in self.query_kinds():
                with self.subTest(f"{label} {kind} no EDNS"):
                    r = send(build_query(name, qtype, qclass))
                    self.assertEqual(r.opt_count, 0, f"OPT without EDNS in the query: {r!r}")
                with self.subTest(f"{label} {kind} EDNS"):
                    r = send(build_query(name, qtype, qclass, edns={"payload": 4096}))
                    self.assertEqual(r.opt_count, 1, repr(r))
                    self.assertEqual(r.edns_version, 0)
                    self.assertEqual(r.udp_size, OUR_PAYLOAD)
                    self.assertEqual(r.opt.name, dns.name.root)

    def test_opt_with_kdig(self):
        for addr, _ in self.server.endpoints():
            for tcp in (False, True):
                with self.subTest(f"{addr} tcp={tcp}"):
                    r = self.server.kdig("www.example.test", "A", "+noedns", addr=addr, tcp=tcp)
                    self.assertIsNone(r.opt)
                    r = self.server.kdig("www.example.test", "A", "+edns", "+bufsize=4000",
                                         addr=addr, tcp=tcp)
                    self.assertIsNotNone(r.opt)
                    self.assertEqual((r.edns_version, r.udp_size), (0, OUR_PAYLOAD))

    def test_unknown_options_and_flags_not_echoed(self):
        unknown = [(65001, b"\xde\xad\xbe\xef"), (65002, b""), (20, b"\x01\x02")]
        for label, send in self.transports():
            for kind, name, qtype, qclass in self.query_kinds():
                with self.subTest(f"{label} {kind}"):
                    # 0x7FFF: every EDNS flag bit but DO (all unassigned).
                    r = send(build_query(name, qtype, qclass,
                                         edns={"options": unknown, "flags": 0x7FFF}))
                    self.assertIsNotNone(r.opt, repr(r))
                    codes = [c for c, _ in r.options]
                    for code, _ in unknown:
                        self.assertNotIn(code, codes, f"option {code} echoed: {r.options}")
                    self.assertEqual(r.edns_flags & 0x7FFF, 0,
                                     f"unknown EDNS flags echoed: {r.edns_flags:#06x}")

    def test_do_bit_gets_rrsigs(self):
        for label, send in self.transports():
            with self.subTest(f"{label} DO=1"):
                r = send(build_query("www.signed.test.", "A", edns={"do": True}))
                self.assertEqual(r.rcode, NOERROR)
                self.assertEqual(r.values("A"), ["192.0.2.110"])
                sigs = r.records("answer", "RRSIG")
                self.assertEqual([s.value()["type_covered"] for s in sigs], ["A"], repr(r))
                self.assertTrue(r.do, "RFC 3225: the DO bit is copied into the response")
            with self.subTest(f"{label} DO=0"):
                r = send(build_query("www.signed.test.", "A", edns={"do": False}))
                self.assertEqual(r.values("A"), ["192.0.2.110"])
                self.assertEqual(r.records("answer", "RRSIG"), [], repr(r))
                self.assertFalse(r.do)
            with self.subTest(f"{label} no EDNS"):
                r = send(build_query("www.signed.test.", "A"))
                self.assertEqual(r.values("A"), ["192.0.2.110"])
                self.assertEqual(r.records("answer", "RRSIG"), [], repr(r))

    def test_do_bit_with_kdig(self):
        for addr, _ in self.server.endpoints():
            for tcp in (False, True):
                with self.subTest(f"{addr} tcp={tcp}"):
                    r = self.server.kdig("www.signed.test", "AAAA", "+dnssec", addr=addr, tcp=tcp)
                    self.assertEqual([x.type_name for x in r.answer], ["AAAA", "RRSIG"])
                    r = self.server.kdig("www.signed.test", "AAAA", "+nodnssec", "+edns",
                                         addr=addr, tcp=tcp)
                    self.assertEqual([x.type_name for x in r.answer], ["AAAA"])
                    # Negative answer from the signed zone: NSEC proof only with DO.
                    r = self.server.kdig("nope.signed.test", "A", "+dnssec", addr=addr, tcp=tcp)
                    self.assertEqual(r.rcode, NXDOMAIN)
                    self.assertTrue(r.records("authority", "NSEC"), repr(r))
                    self.assertTrue(r.records("authority", "RRSIG"), repr(r))
                    r = self.server.kdig("nope.signed.test", "A", "+edns", addr=addr, tcp=tcp)
                    self.assertEqual(r.rcode, NXDOMAIN)
                    self.assertEqual([x.type_name for x in r.authority], ["SOA"], repr(r))


if __name__ == "__main__":
    unittest.main(verbosity=2)
