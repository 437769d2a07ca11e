# SPDX-License-Identifier: MIT
"""TCP per RFC 7766: the length prefix and the message may arrive split across any
number of reads; pipelined queries are all answered (any order); an idle connection is
closed after tcp_idle_timeout; at tcp_max_connections the idlest connection gives way to a
new one, and a new one is refused only when every connection is busy. (The other bounds:
test_tcp_limits.py and test_fault_tcp.py.)"""

import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    NOERROR, NXDOMAIN, REFUSED, build_query, parse, tcp_connect, tcp_frame,
    tcp_read_message, wait_closed,
)
from fakes import FakeUpstream, answer_for  # noqa: E402
from processes import SinkholedTestCase  # noqa: E402
from zones import MANY_A, TXT_4K5  # noqa: E402


def read_replies(s, n, timeout=5.0):
    s.settimeout(timeout)
    out = {}
    for _ in range(n):
        m = parse(tcp_read_message(s))
        out[m.id] = m
    return out


class TcpFramingTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream])

    def test_message_split_byte_by_byte(self):
        for addr, port in self.server.endpoints():
            with self.subTest(addr):
                q = build_query("www.example.test.", "A", id=0x5151, edns=True)
                with tcp_connect(addr, port) as s:
                    for b in tcp_frame(q):
                        s.send(bytes([b]))
                        time.sleep(0.003)
                    r = parse(tcp_read_message(s))
                self.assertEqual(r.id, 0x5151)
                self.assertEqual(r.values("A"), ["192.0.2.1"])

    def test_length_prefix_split_then_message_in_pieces(self):
        q = build_query("c1.example.test.", "A", id=0x6262)
        frame = tcp_frame(q)
        with tcp_connect(self.server.addr, self.server.port) as s:
            for piece in (frame[:1], frame[1:2], frame[2:7], frame[7:20], frame[20:]):
                s.send(piece)
                time.sleep(0.05)
            r = parse(tcp_read_message(s))
        self.assertEqual(r.id, 0x6262)
        self.assertEqual(r.values("A"), ["192.0.2.1"])
        self.assertEqual(len(r.values("CNAME")), 3)

    def test_pipelined_queries_in_one_write(self):
        queries = {
            0x0101: (build_query("www.example.test.", "A", id=0x0101), ["192.0.2.1"]),
            0x0202: (build_query("short.example.test.", "A", id=0x0202), ["192.0.2.30"]),
            0x0303: (build_query("many.example.test.", "A", id=0x0303), MANY_A),
            0x0404: (build_query("nope.example.test.", "A", id=0x0404), []),
            0x0505: (build_query("version.bind.", "TXT", "CH", id=0x0505), []),
            0x0606: (build_query("www.example.test.", "AAAA", id=0x0606), ["2001:db8::1"]),
            0x0707: (build_query("txt45k.example.test.", "TXT", id=0x0707), None),
        }
        rcodes = {0x0404: NXDOMAIN, 0x0505: REFUSED}
        for addr, port in self.server.endpoints():
            with self.subTest(addr):
                with tcp_connect(addr, port) as s:
                    s.sendall(b"".join(tcp_frame(q) for q, _ in queries.values()))
                    replies = read_replies(s, len(queries))
                self.assertEqual(sorted(replies), sorted(queries))
                for qid, (q, want) in queries.items():
                    r = replies[qid]
                    self.assertEqual(r.question_bytes, parse(q).question_bytes)
                    self.assertEqual(r.rcode, rcodes.get(qid, NOERROR), repr(r))
                    self.assertFalse(r.tc)
                    if want is None:
                        self.assertEqual(r.values("TXT"), [[x.encode() for x in TXT_4K5]])
                    else:
                        self.assertEqual(sorted(r.values("A") + r.values("AAAA")), sorted(want))

    def test_pipelined_query_boundary_inside_a_write(self):
        a = tcp_frame(build_query("www.example.test.", "A", id=1))
        b = tcp_frame(build_query("mail.example.test.", "A", id=2))
        c = tcp_frame(build_query("mail2.example.test.", "A", id=3))
        stream = a + b + c
        with tcp_connect(self.server.addr, self.server.port) as s:
            # Writes cut across message boundaries: [a + half of b], [rest of b + 1 byte of
            # c's length], [the rest].
            cut1, cut2 = len(a) + len(b) // 2, len(a) + len(b) + 1
            for piece in (stream[:cut1], stream[cut1:cut2], stream[cut2:]):
                s.send(piece)
                time.sleep(0.05)
            replies = read_replies(s, 3)
        self.assertEqual({k: v.values("A") for k, v in replies.items()},
                         {1: ["192.0.2.1"], 2: ["192.0.2.25"], 3: ["192.0.2.26"]})

    def test_sequential_queries_on_one_connection(self):
        with tcp_connect(self.server.addr, self.server.port) as s:
            for i, name in enumerate(("www", "mail", "short", "mail2")):
                s.sendall(tcp_frame(build_query(f"{name}.example.test.", "A", id=100 + i)))
                r = parse(tcp_read_message(s))
                self.assertEqual(r.id, 100 + i)
                self.assertEqual(r.rcode, NOERROR)
                self.assertEqual(len(r.answer), 1)

    def test_frame_shorter_than_a_header_closes_connection(self):
        before = self.server.stats()
        with tcp_connect(self.server.addr, self.server.port) as s:
            s.sendall(struct.pack("!H", 5) + b"\x00" * 5)
            self.assertTrue(wait_closed(s, 2.0), "connection kept after a 5-byte frame")
        with tcp_connect(self.server.addr, self.server.port) as s:
            s.sendall(struct.pack("!H", 0))
            self.assertTrue(wait_closed(s, 2.0), "connection kept after a 0-byte frame")
        self.assertCounters(self.server, before, tcp_bad_length=2)

    def test_connections_counted(self):
        before = self.server.stats()
        for _ in range(3):
            self.server.tcp(build_query("www.example.test.", "A"))
        self.assertCounters(self.server, before, tcp_connections=3, queries_tcp=3)


class TcpSlowUpstreamTest(SinkholedTestCase):
    """Queries whose upstream answer takes longer than the TCP idle timeout."""

    @classmethod
    def setUpClass(cls):
        def handler(q, t):
            name = parse(q).questions[0][0]
            return [(1.0 if name.startswith("slow") else 0.0, answer_for(q))]
        cls.fake = cls.class_fake(FakeUpstream(handler))
        cls.server = cls.class_sinkholed([cls.fake.upstream],
                                         server={"tcp_idle_timeout": "600ms"},
                                         upstream={"timeout": "1500ms", "deadline": "2s"})

    def test_pending_query_not_cut_by_idle_timeout(self):
        with tcp_connect(self.server.addr, self.server.port, timeout=4) as s:
            s.sendall(tcp_frame(build_query("slow1.example.test.", "A", id=11)))
            r = parse(tcp_read_message(s))
        self.assertEqual((r.id, r.values("A")), (11, ["192.0.2.123"]))

    def test_pipelined_slow_and_fast(self):
        with tcp_connect(self.server.addr, self.server.port, timeout=4) as s:
            s.sendall(tcp_frame(build_query("slow2.example.test.", "A", id=21))
                      + tcp_frame(build_query("fast2.example.test.", "A", id=22))
                      + tcp_frame(build_query("version.bind.", "TXT", "CH", id=23)))
            order = []
            for _ in range(3):
                m = parse(tcp_read_message(s))
                order.append(m.id)
        # All answered; the slow one need not hold up the others (and here cannot be first).
        self.assertEqual(sorted(order), [21, 22, 23])
        self.assertEqual(order[-1], 21)

    def test_client_gone_before_answer(self):
        before = self.server.stats()
        for i in range(5):
            with tcp_connect(self.server.addr, self.server.port) as s:
                s.sendall(tcp_frame(build_query(f"slow-gone{i}.example.test.", "A", id=i)))
        for i in range(5):  # closed with RST while the upstream is still thinking
            s = tcp_connect(self.server.addr, self.server.port)
            s.sendall(tcp_frame(build_query(f"slow-rst{i}.example.test.", "A", id=i)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(1.5)  # the upstream answers arrive for clients that left
        r = self.server.tcp(build_query("fast3.example.test.", "A"))
        self.assertEqual(r.values("A"), ["192.0.2.123"])
        self.assertTrue(self.server.running())
        self.assertCounters(self.server, before, queries_tcp=11, upstream_queries=11)


class TcpIdleTimeoutTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream],
                                         server={"tcp_idle_timeout": "600ms"})

    def test_idle_connection_closed(self):
        before = self.server.stats()
        for addr, port in self.server.endpoints():
            with self.subTest(addr):
                with tcp_connect(addr, port) as s:
                    t0 = time.monotonic()
                    # Not closed early ...
                    self.assertFalse(wait_closed(s, 0.3), "closed well before the idle timeout")
                    # ... but closed soon after 600 ms.
                    self.assertTrue(wait_closed(s, 3.0), "idle connection not closed")
                    took = time.monotonic() - t0
                    self.assertGreaterEqual(took, 0.5)
                    self.assertLess(took, 3.0)
        self.assertCounters(self.server, before, tcp_idle_closed=2)

    def test_idle_after_an_answer_closed(self):
        with tcp_connect(self.server.addr, self.server.port) as s:
            s.sendall(tcp_frame(build_query("www.example.test.", "A", id=77)))
            self.assertEqual(parse(tcp_read_message(s)).id, 77)
            t0 = time.monotonic()
            self.assertTrue(wait_closed(s, 3.0), "connection not closed after going idle")
            self.assertLess(time.monotonic() - t0, 3.0)

    def test_activity_keeps_connection_open(self):
        # Queries every 250 ms for 1.5 s: the gaps are shorter than the 600 ms timeout.
        with tcp_connect(self.server.addr, self.server.port) as s:
            for i in range(6):
                s.sendall(tcp_frame(build_query("www.example.test.", "A", id=i)))
                r = parse(tcp_read_message(s))
                self.assertEqual((r.id, r.values("A")), (i, ["192.0.2.1"]))
                time.sleep(0.25)


class TcpConnectionLimitTest(SinkholedTestCase):
    """At tcp_max_connections a new client is not locked out: the connection that has gone
    longest without a query, with nothing pending, is closed to make room. Only when every
    connection is busy (queries in flight) is the new one refused."""

    @classmethod
    def setUpClass(cls):
        def handler(q, t):
            name = parse(q).questions[0][0]
            return [(1.0 if name.startswith("slow") else 0.0, answer_for(q))]
        cls.fake = cls.class_fake(FakeUpstream(handler))
        cls.server = cls.class_sinkholed([cls.fake.upstream], workers=1,
                                         server={"tcp_max_connections": 2},
                                         upstream={"timeout": "1500ms", "deadline": "2s"})

    def query_on(self, s, qid, name="www.example.test."):
        s.sendall(tcp_frame(build_query(name, "A", id=qid)))
        s.settimeout(3)
        r = parse(tcp_read_message(s))
        self.assertEqual((r.id, r.values("A")), (qid, ["192.0.2.123"]))

    def extra_is_refused(self):
        """True when a connection beyond the limit gets no answer: refused at connect,
        closed/reset by the server, or left unanswered."""
        try:
            s = tcp_connect(self.server.addr, self.server.port, timeout=2)
        except OSError:
            return True
        with s:
            try:
                s.sendall(tcp_frame(build_query("www.example.test.", "A", id=999)))
                s.settimeout(2)
                tcp_read_message(s)
                return False
            except (OSError, EOFError):
                return True

    def test_idlest_connection_gives_way(self):
        time.sleep(0.2)  # let the readiness probe's connection be closed and forgotten
        before = self.server.stats()
        c1 = tcp_connect(self.server.addr, self.server.port)
        c2 = tcp_connect(self.server.addr, self.server.port)
        try:
            self.query_on(c1, 1)
            self.query_on(c2, 2)  # c1 is now the idlest
            with tcp_connect(self.server.addr, self.server.port) as c3:
                self.query_on(c3, 3)
            self.assertTrue(wait_closed(c1, 2.0), "the idlest connection was kept")
            self.query_on(c2, 4)  # the other admitted connection still works
        finally:
            c1.close()
            c2.close()
        self.assertCounters(self.server, before, tcp_closed_evicted=1, tcp_connections=3)

    def test_busy_connections_are_not_evicted(self):
        time.sleep(0.2)
        before = self.server.stats()
        c1 = tcp_connect(self.server.addr, self.server.port, timeout=4)
        c2 = tcp_connect(self.server.addr, self.server.port, timeout=4)
        try:
            # Both wait 1 s for their upstream answer: neither may be closed for a third.
            c1.sendall(tcp_frame(build_query("slow-b1.example.test.", "A", id=11)))
            c2.sendall(tcp_frame(build_query("slow-b2.example.test.", "A", id=12)))
            time.sleep(0.2)
            self.assertTrue(self.extra_is_refused(), "a third connection was served (limit 2)")
            self.assertEqual(parse(tcp_read_message(c1)).id, 11)
            self.assertEqual(parse(tcp_read_message(c2)).id, 12)
        finally:
            c1.close()
            c2.close()
        self.assertCountersAtLeast(self.server, before, tcp_rejected_limit=1)
        self.assertCounters(self.server, before, tcp_closed_evicted=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
