# SPDX-License-Identifier: MIT
"""UDP answer sizes: never over 512 without EDNS, never over min(client payload, our
payload) with EDNS (client payloads under 512 count as 512); a larger answer is a valid
TC=1 message (header, question, OPT) and the same query over TCP returns it whole."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, build_query, parse  # noqa: E402
from fakes import FakeUpstream, proxy_handler  # noqa: E402
from processes import SinkholedTestCase, run_concurrently  # noqa: E402
from zones import MANY_A, TXT_1K, TXT_2K, TXT_300, TXT_4K5  # noqa: E402


class TruncationTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream])  # udp_payload: default 1232
        cls.big = cls.class_sinkholed([cls.knot.upstream], server={"udp_payload": 4096})

    def assertTruncated(self, r, q, limit, edns):
        """A valid TC=1 message: header, the question as sent, OPT iff EDNS, nothing else
        (parse() already refused bytes after the last record: dnspython's TrailingJunk)."""
        self.assertLessEqual(len(r.wire), limit, repr(r))
        self.assertTrue(r.tc, f"TC expected: {r!r}")
        self.assertEqual(r.rcode, NOERROR)
        self.assertEqual((r.qdcount, r.ancount, r.nscount), (1, 0, 0), repr(r))
        self.assertEqual(r.question_bytes, parse(q).question_bytes)
        self.assertEqual(r.id, parse(q).id)
        if edns:
            self.assertEqual((r.arcount, r.opt_count), (1, 1), repr(r))
            self.assertEqual(r.edns_version, 0)
        else:
            self.assertEqual(r.arcount, 0, repr(r))
        self.assertEqual(len(r.wire), len(r.msg.to_wire()), "bytes after the last record")

    def assertFull(self, r, name, strings, limit=None):
        self.assertFalse(r.tc, repr(r))
        self.assertEqual(r.rcode, NOERROR)
        self.assertEqual(r.values("TXT"), [[s.encode() for s in strings]])
        self.assertEqual(r.answer[0].name, name)
        if limit is not None:
            self.assertLessEqual(len(r.wire), limit)

    def test_no_edns_udp_at_most_512(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("txt1k.example.test.", "TXT")
                self.assertTruncated(self.server.udp(q, addr=addr), q, 512, edns=False)
                self.assertFull(self.server.tcp(q, addr=addr), "txt1k.example.test.", TXT_1K)
                # A ~300-byte answer fits: no needless truncation.
                q = build_query("txt300.example.test.", "TXT")
                r = self.server.udp(q, addr=addr)
                self.assertFull(r, "txt300.example.test.", TXT_300, limit=512)
                self.assertGreater(len(r.wire), 300)

    def test_edns_4096_capped_at_our_1232(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("txt2k.example.test.", "TXT", edns={"payload": 4096})
                r = self.server.udp(q, addr=addr)
                self.assertTruncated(r, q, 1232, edns=True)
                self.assertEqual(r.udp_size, 1232)
                self.assertFull(self.server.tcp(q, addr=addr), "txt2k.example.test.", TXT_2K)
                # ~1.1 KB fits within 1232.
                q = build_query("txt1k.example.test.", "TXT", edns={"payload": 4096})
                r = self.server.udp(q, addr=addr)
                self.assertFull(r, "txt1k.example.test.", TXT_1K, limit=1232)
                self.assertGreater(len(r.wire), 1000)

    def test_client_payload_below_512_counts_as_512(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("txt300.example.test.", "TXT", edns={"payload": 100})
                r = self.server.udp(q, addr=addr)
                self.assertFull(r, "txt300.example.test.", TXT_300, limit=512)
                self.assertIsNotNone(r.opt)
                q = build_query("txt1k.example.test.", "TXT", edns={"payload": 100})
                self.assertTruncated(self.server.udp(q, addr=addr), q, 512, edns=True)

    def test_client_payload_between_512_and_ours(self):
        q = build_query("txt1k.example.test.", "TXT", edns={"payload": 700})
        self.assertTruncated(self.server.udp(q), q, 700, edns=True)
        q = build_query("txt1k.example.test.", "TXT", edns={"payload": 1100})
        self.assertFull(self.server.udp(q), "txt1k.example.test.", TXT_1K, limit=1100)

    def test_90_record_rrset(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("many.example.test.", "A", edns={"payload": 4096})
                self.assertTruncated(self.server.udp(q, addr=addr), q, 1232, edns=True)
                q = build_query("many.example.test.", "A")
                self.assertTruncated(self.server.udp(q, addr=addr), q, 512, edns=False)
                r = self.server.tcp(q, addr=addr)
                self.assertFalse(r.tc)
                self.assertEqual(sorted(r.values("A")), sorted(MANY_A))
                self.assertEqual({x.ttl for x in r.answer}, {3600})

    def test_4k5_txt(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("txt45k.example.test.", "TXT", edns={"payload": 4096})
                self.assertTruncated(self.server.udp(q, addr=addr), q, 1232, edns=True)
                r = self.server.tcp(q, addr=addr)
                self.assertFull(r, "txt45k.example.test.", TXT_4K5)
                self.assertGreater(len(r.wire), 4600)

    def test_kdig_sees_tc_and_tcp_gets_all(self):
        for addr, _ in self.server.endpoints():
            with self.subTest(addr):
                r = self.server.kdig("txt2k.example.test", "TXT", "+bufsize=4096", addr=addr)
                self.assertTrue(r.tc)
                self.assertLessEqual(r.size, 1232)
                self.assertEqual(r.answer, [])
                r = self.server.kdig("txt2k.example.test", "TXT", "+noedns", addr=addr)
                self.assertTrue(r.tc)
                self.assertLessEqual(r.size, 512)
                r = self.server.kdig("txt2k.example.test", "TXT", "+bufsize=4096", addr=addr,
                                     tcp=True)
                self.assertFalse(r.tc)
                self.assertEqual(r.values("TXT"), [[s.encode() for s in TXT_2K]])

    def test_larger_configured_payload(self):
        s = self.big
        # 2 KB fits in min(4096, 4096) ...
        q = build_query("txt2k.example.test.", "TXT", edns={"payload": 4096})
        r = s.udp(q)
        self.assertFull(r, "txt2k.example.test.", TXT_2K, limit=4096)
        self.assertGreater(len(r.wire), 2000)
        self.assertEqual(r.udp_size, 4096)
        # ... but not in min(1500, 4096) ...
        q = build_query("txt2k.example.test.", "TXT", edns={"payload": 1500})
        self.assertTruncated(s.udp(q), q, 1500, edns=True)
        # ... and 4.5 KB never fits in 4096.
        q = build_query("txt45k.example.test.", "TXT", edns={"payload": 4096})
        self.assertTruncated(s.udp(q), q, 4096, edns=True)
        # Without EDNS the limit stays 512.
        q = build_query("txt1k.example.test.", "TXT")
        self.assertTruncated(s.udp(q), q, 512, edns=False)

    def test_coalesced_clients_each_get_their_own_limit(self):
        # A slow path to knotd keeps one upstream question in flight while three clients
        # with different limits wait for it: each reply is sized for its own client.
        slow = self.start_fake(FakeUpstream(proxy_handler(self.knot.addr, self.knot.port, 0.5),
                                            tcp=True))
        s = self.start_sinkholed([slow.upstream], workers=1)
        q_plain = build_query("txt1k.example.test.", "TXT", id=1)
        q_edns = build_query("txt1k.example.test.", "TXT", id=2, edns={"payload": 4096})
        q_tcp = build_query("txt1k.example.test.", "TXT", id=3)
        r_plain, r_edns, r_tcp = run_concurrently([lambda: s.udp(q_plain, timeout=5),
                                                   lambda: s.udp(q_edns, timeout=5),
                                                   lambda: s.tcp(q_tcp, timeout=5)])
        self.assertTruncated(r_plain, q_plain, 512, edns=False)
        self.assertFull(r_edns, "txt1k.example.test.", TXT_1K, limit=1232)
        self.assertFull(r_tcp, "txt1k.example.test.", TXT_1K)

    def test_truncation_counted(self):
        before = self.server.stats()
        q = build_query("txt2k.example.test.", "TXT", edns=True)
        self.assertTrue(self.server.udp(q).tc)
        self.assertTrue(self.server.udp(build_query("many.example.test.", "A")).tc)
        self.assertFalse(self.server.tcp(q).tc)
        self.assertCounters(self.server, before, answers_truncated=2, queries_udp=2,
                            queries_tcp=1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
