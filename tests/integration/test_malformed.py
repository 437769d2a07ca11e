# SPDX-License-Identifier: MIT
"""Malformed queries, sent as raw packets: no answer when the header is unreadable or
QR=1, NOTIMP for other opcodes, FORMERR for every malformed class (each counted by its own
counter), BADVERS for EDNS version 1; the server keeps serving afterwards.

The well-formed packets (a header without a question, two questions, QR=1, other
opcodes, EDNS version 1, a 255-octet name) are built with dnspython. The rest is encoded
by hand below, byte by byte, because dnspython refuses to write it: counts that promise
absent records, names that run past the end, pointer loops and forward pointers, bad label
types, names over 255 octets, a question cut short, an OPT whose length lies, an OPT not
owned by the root, two OPTs, records a query must not carry (answer, authority, a third
additional, an A record as additional), a name of more than 16 compression pointers."""

import os
import struct
import sys
import unittest

import dns.flags
import dns.message
import dns.name
import dns.rrset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    BADVERS, FORMERR, NOERROR, NOTIMP, NXDOMAIN, OPCODE_STATUS, OPCODE_UPDATE, build_query, parse,
    query_message, tcp_connect, tcp_frame,
)
from processes import SinkholedTestCase  # noqa: E402

QNAME = "www.example.test."
Q = parse(build_query(QNAME)).question_bytes  # 22 bytes of name + qtype/qclass
QUIET = 0.5          # how long to wait for an answer that must not come

# -- hand encoding, for what dnspython will not write ------------------------------------
F_RD = 0x0100


def hdr(qid, qd=1, an=0, ns=0, ar=0, flags=F_RD):
    """A bare 12-byte header whose counts may promise anything."""
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def raw_opt(payload=1232, version=0, owner=b"\x00", rdlen=None):
    """An OPT pseudo-record with no options; `owner` and `rdlen` (the length field) may
    lie."""
    return owner + struct.pack("!HHIH", 41, payload, (version & 0xFF) << 16,
                               0 if rdlen is None else rdlen)


def message(qid, questions=(), flags=dns.flags.RD, answer=()):
    """A message dnspython can write but no client should send: any number of
    questions, any flags."""
    m = dns.message.Message(id=qid)
    m.flags = dns.flags.Flag(flags)
    m.question = [query_message(q).question[0] for q in questions]
    m.answer.extend(answer)
    return m.to_wire()


class MalformedTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream])

    def setUp(self):
        self.before = self.server.stats()

    def tearDown(self):
        # Whatever was sent, the server still answers a normal query on UDP and TCP.
        q = build_query(QNAME, "A")
        self.assertEqual(self.server.udp(q).values("A"), ["192.0.2.1"])
        self.assertEqual(self.server.tcp(q).values("A"), ["192.0.2.1"])

    def no_answer(self, packet):
        reply = self.server.udp_raw(packet, timeout=QUIET)
        self.assertIsNone(reply, f"unexpected answer {reply!r} to {packet.hex()}")

    def formerr(self, packet, qid, echo_question=None, tcp=False):
        r = self.server.tcp(packet) if tcp else self.server.udp(packet)
        self.assertEqual(r.rcode, FORMERR, f"{r!r} for {packet.hex()}")
        self.assertEqual(r.id, qid)
        self.assertTrue(r.qr)
        self.assertEqual(r.answer, [])
        if echo_question is not None:
            self.assertEqual(r.qdcount, 1, repr(r))
            self.assertEqual(r.question_bytes, echo_question)
        return r

    def counters(self, **expected):
        self.assertCounters(self.server, self.before, **expected)

    # -- dropped ------------------------------------------------------------------------
    def test_short_header_dropped(self):
        self.no_answer(b"")  # an empty datagram: not answered (whether counted or not)
        self.before = self.server.stats()
        self.no_answer(b"\x12\x34\x01\x00\x00")
        self.no_answer(hdr(0x1234)[:11])
        self.counters(dropped_short_header=2)

    def test_qr_set_dropped(self):
        self.no_answer(message(0x2222, [QNAME], dns.flags.QR | dns.flags.RD))
        self.no_answer(message(0x2223, [QNAME], dns.flags.QR | dns.flags.AA,
                               [dns.rrset.from_text(QNAME, 60, "IN", "A", "1.2.3.4")]))
        self.counters(dropped_qr_set=2, answers_formerr=0, answers_noerror=0)

    # -- NOTIMP ---------------------------------------------------------------------------
    def test_opcode_not_query_notimp(self):
        for opcode in (OPCODE_STATUS, OPCODE_UPDATE):
            q = build_query(QNAME, "A", id=0x3300 + opcode, opcode=opcode)
            r = self.server.udp(q)
            self.assertEqual(r.rcode, NOTIMP, repr(r))
            self.assertEqual((r.id, r.opcode), (0x3300 + opcode, opcode))
            self.assertEqual(r.question_bytes, Q)  # echoed: the question was readable
        self.counters(malformed_opcode=2, answers_notimp=2, upstream_queries=0)

    # -- FORMERR --------------------------------------------------------------------------
    def test_qdcount_not_one(self):
        self.formerr(message(0x4400), 0x4400)
        self.formerr(message(0x4401, [QNAME, "mail.example.test."]), 0x4401)
        self.counters(malformed_qdcount=2, answers_formerr=2, upstream_queries=0)

    def test_label_past_end(self):
        self.formerr(hdr(0x4500) + b"\x03www\x0aexam", 0x4500)
        self.formerr(hdr(0x4501) + b"\x03www\x07example\x04test", 0x4501)  # no root label
        self.counters(malformed_name_past_end=2)

    def test_pointer_loop(self):
        # A pointer to itself, and a pointer back to the start of its own name.
        self.formerr(hdr(0x4600) + b"\xc0\x0c" + b"\x00\x01\x00\x01", 0x4600)
        self.formerr(hdr(0x4601) + b"\x03www\xc0\x0c" + b"\x00\x01\x00\x01", 0x4601)
        self.counters(malformed_pointer_loop=2)

    def test_forward_pointer(self):
        # Pointer at 16 to a name at 22 (after the question), and a pointer into the header.
        self.formerr(hdr(0x4700) + b"\x03www\xc0\x16" + b"\x00\x01\x00\x01"
                     + b"\x07example\x04test\x00", 0x4700)
        self.formerr(hdr(0x4701) + b"\x03www\xc0\x02" + b"\x00\x01\x00\x01", 0x4701)
        self.counters(malformed_forward_pointer=2)

    def test_pointer_past_end(self):
        self.formerr(hdr(0x4800) + b"\x03www\xc0\xff" + b"\x00\x01\x00\x01", 0x4800)
        self.formerr(hdr(0x4801) + b"\x03www\xff\xff" + b"\x00\x01\x00\x01", 0x4801)
        self.counters(malformed_pointer_past_end=2)

    def test_bad_label_types(self):
        self.formerr(hdr(0x4900) + b"\x03www\x41x" + b"\x00\x00\x01\x00\x01", 0x4900)  # 0x40
        self.formerr(hdr(0x4901) + b"\x81a\x00" + b"\x00\x01\x00\x01", 0x4901)         # 0x80
        self.counters(malformed_bad_label_type=2)

    def test_name_over_255(self):
        long_labels = [b"a" * 63] * 5
        name = b"".join(bytes([len(l)]) + l for l in long_labels) + b"\x00"  # 321 octets
        self.formerr(hdr(0x4A00) + name + b"\x00\x01\x00\x01", 0x4A00)
        # Exactly 255 octets is legal and forwarded (NXDOMAIN from knotd); 256 is not.
        ok = "b" * 63 + "." + "b" * 63 + "." + "b" * 63 + "." + "c" * 48 + ".example.test."
        self.assertEqual(len(dns.name.from_text(ok).to_wire()), 255)
        r = self.server.udp(build_query(ok, "A", id=0x4A01))
        self.assertEqual(r.rcode, NXDOMAIN, repr(r))
        too_long = b"".join(bytes([63]) + b"b" * 63 for _ in range(3)) + b"\x31" + b"c" * 49 \
            + b"\x07example\x04test\x00"
        self.assertEqual(len(too_long), 256)
        self.formerr(hdr(0x4A02) + too_long + b"\x00\x01\x00\x01", 0x4A02)
        self.counters(malformed_name_too_long=2, answers_nxdomain=1)

    def test_missing_qtype_qclass(self):
        name = dns.name.from_text(QNAME).to_wire()
        self.formerr(hdr(0x4B00) + name, 0x4B00)
        self.formerr(hdr(0x4B01) + name + b"\x00\x01\x00", 0x4B01)
        self.counters(malformed_short_question=2)

    def test_lying_counts_truncated_record(self):
        # ARCOUNT=1 but the record stops inside its fixed fields; ARCOUNT=1 and the
        # rdata is shorter than RDLENGTH. The question is readable: echoed.
        self.formerr(hdr(0x4C00, ar=1) + Q + b"\xc0\x0c\x00\x01", 0x4C00, echo_question=Q)
        self.formerr(hdr(0x4C01, ar=1) + Q + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4)
                     + b"\x01\x02", 0x4C01, echo_question=Q)
        self.counters(malformed_record_past_end=2, answers_formerr=2)

    def test_lying_counts_absent_records(self):
        # Counts promise records of which not a byte is there.
        self.formerr(hdr(0x4C10, ar=1) + Q, 0x4C10, echo_question=Q)
        self.formerr(hdr(0x4C11, ar=2) + Q + raw_opt(), 0x4C11, echo_question=Q)
        self.counters(malformed_record_past_end=2, answers_formerr=2)

    def test_opt_rdlen_past_end(self):
        self.formerr(hdr(0x4D00, ar=1) + Q + raw_opt(rdlen=20), 0x4D00, echo_question=Q)
        # An option whose length runs past the OPT rdata.
        bad_opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 6) + b"\xfd\xe9\x00\x0a\xab\xcd"
        self.formerr(hdr(0x4D01, ar=1) + Q + bad_opt, 0x4D01, echo_question=Q)
        self.counters(malformed_opt_past_end=2)

    def test_opt_owner_not_root(self):
        self.formerr(hdr(0x4D10, ar=1) + Q + raw_opt(owner=b"\x01a\x00"), 0x4D10,
                     echo_question=Q)
        self.counters(malformed_opt_not_root=1)

    def test_two_opt(self):
        self.formerr(hdr(0x4E00, ar=2) + Q + raw_opt() + raw_opt(payload=4096), 0x4E00,
                     echo_question=Q)
        self.formerr(hdr(0x4E01, ar=2) + Q + raw_opt() + raw_opt(), 0x4E01,
                     echo_question=Q, tcp=True)
        self.counters(malformed_two_opt=2, answers_formerr=2, upstream_queries=0)

    def test_formerr_over_tcp(self):
        self.formerr(hdr(0x4F00) + b"\x03www\xc0\x0c" + b"\x00\x01\x00\x01", 0x4F00, tcp=True)
        self.formerr(hdr(0x4F01, ar=1) + Q + b"\xc0\x0c\x00\x01", 0x4F01, echo_question=Q,
                     tcp=True)
        self.counters(malformed_pointer_loop=1, malformed_record_past_end=1, answers_formerr=2,
                      queries_tcp=2)

    def test_records_a_query_must_not_carry(self):
        # Decided from the header counts, before a record is read (Unbound: FORMERR too).
        a_rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\xc0\x00\x02\x01"
        self.formerr(hdr(0x4E10, an=1) + Q + a_rr, 0x4E10, echo_question=Q)
        self.formerr(hdr(0x4E11, an=0xFFFF) + Q, 0x4E11, echo_question=Q)
        self.formerr(hdr(0x4E12, ns=1) + Q + a_rr, 0x4E12, echo_question=Q, tcp=True)
        self.formerr(hdr(0x4E13, ar=3) + Q + raw_opt(), 0x4E13, echo_question=Q)
        self.formerr(hdr(0x4E14, ar=1) + Q + a_rr, 0x4E14, echo_question=Q)
        self.counters(malformed_ancount=2, malformed_nscount=1, malformed_arcount=1,
                      malformed_additional_type=1, answers_formerr=5, upstream_queries=0)

    def test_pointer_hop_limit(self):
        # An OPT whose option holds n pointers, each to the one before (the first to the
        # question), then a TSIG owned by a pointer to the last: n + 1 hops. 16 pass.
        def chain(qid, n):
            option = b"".join(struct.pack("!H", 0xC000 | (12 if i == 0 else 12 + len(Q) + 15
                                                            + 2 * (i - 1)))
                              for i in range(n))
            opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4 + len(option)) + \
                struct.pack("!HH", 65001, len(option)) + option
            last = 12 + len(Q) + 15 + 2 * (n - 1)
            tsig = struct.pack("!H", 0xC000 | last) + struct.pack("!HHIH", 250, 255, 0, 0)
            return hdr(qid, ar=2) + Q + opt + tsig
        self.formerr(chain(0x4E20, 16), 0x4E20, echo_question=Q)
        self.formerr(chain(0x4E21, 200), 0x4E21, echo_question=Q, tcp=True)
        r = self.server.udp(chain(0x4E22, 15))
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]), repr(r))
        self.counters(malformed_pointer_hops=2, answers_formerr=2)

    # -- BADVERS --------------------------------------------------------------------------
    def test_edns_version_1_badvers(self):
        for send in (self.server.udp, self.server.tcp):
            q = build_query(QNAME, "A", id=0x5000, edns={"version": 1, "payload": 4096})
            r = send(q)
            self.assertEqual(r.header_rcode, 0, repr(r))
            self.assertIsNotNone(r.opt, "BADVERS needs an OPT")
            self.assertEqual(r.opt_count, 1)
            self.assertEqual(r.ext_rcode, 1)
            self.assertEqual(r.rcode, BADVERS)
            self.assertEqual(r.edns_version, 0)
            self.assertEqual(r.answer, [])
            self.assertEqual(r.id, 0x5000)
            self.assertEqual(r.question_bytes, Q)
        r = self.server.kdig("www.example.test", "A", "+edns=1")
        self.assertEqual(r.rcode, BADVERS)
        self.assertEqual((r.edns_version, r.answer), (0, []))
        self.counters(malformed_edns_version=3, upstream_queries=0)

    # -- everything at once, then normal service ------------------------------------------
    def test_burst_of_garbage_then_service(self):
        import random as _r
        import socket as _s
        import time as _t
        rng = _r.Random(1234)
        packets = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
                   for _ in range(300)]
        # Mutations of a valid query: a few bytes changed anywhere.
        base = build_query(QNAME, "A", edns=True)
        for _ in range(300):
            b = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            packets.append(bytes(b))
        with _s.socket(_s.AF_INET, _s.SOCK_DGRAM) as sock:
            for i, p in enumerate(packets):
                sock.sendto(p, (self.server.addr, self.server.port))
                if i % 50 == 0:
                    _t.sleep(0.01)  # do not overflow the socket buffer
        # TCP: garbage after a valid length prefix, then EOF.
        for p in packets[:20]:
            with tcp_connect(self.server.addr, self.server.port) as c:
                c.sendall(tcp_frame(p))
        _t.sleep(0.3)
        self.assertTrue(self.server.running(), self.server.log_text()[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
