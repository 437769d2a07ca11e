# SPDX-License-Identifier: MIT
"""The bounds a TCP client connection is held to (server.tcp_*), one at a time: a frame
begun must be whole within tcp_query_timeout, however the bytes trickle in; bytes that
trickle in do not extend the idle timeout; a length prefix over tcp_max_query_size closes
the connection at once; tcp_max_connections_per_client per address. Each is counted.
And the fd limit: raised to the hard limit at start and logged, with a warning when it
is too low for the connection limits.
(Many connections at once and a client that never reads: test_fault_tcp.py.)"""

import os
import resource
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    build_query, parse, tcp_connect, tcp_frame, tcp_read_message, wait_closed,
)
from processes import SinkholedTestCase, random_loopback  # noqa: E402


class TcpLimitsTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream], workers=1, server={
            "tcp_idle_timeout": "1500ms",
            "tcp_query_timeout": "700ms",
            "tcp_max_query_size": 512,
            "tcp_max_connections_per_client": 3,
        })

    def ask_on(self, s, qid):
        s.sendall(tcp_frame(build_query("www.example.test.", "A", id=qid)))
        s.settimeout(3)
        r = parse(tcp_read_message(s))
        self.assertEqual((r.id, r.values("A")), (qid, ["192.0.2.1"]))

    def test_trickled_frame_closed_at_the_query_timeout(self):
        before = self.server.stats()
        frame = tcp_frame(build_query("www.example.test.", "A", id=5))
        with tcp_connect(self.server.addr, self.server.port) as s:
            t0 = time.monotonic()
            closed_at = None
            for b in frame:  # one byte every 200 ms: the frame would take ~6 s
                try:
                    s.send(bytes([b]))
                except OSError:
                    pass
                if wait_closed(s, 0.2):
                    closed_at = time.monotonic() - t0
                    break
        self.assertIsNotNone(closed_at, "a frame trickled over 6 s was waited for")
        # 700 ms after the first byte, give or take a slow (sanitizer) build.
        self.assertGreaterEqual(closed_at, 0.6)
        self.assertLess(closed_at, 2.5)
        self.assertCounters(self.server, before, tcp_closed_query_timeout=1, tcp_idle_closed=0)

    def test_trickled_bytes_do_not_extend_idleness(self):
        # After an answer the client waits most of the idle timeout, then trickles a frame
        # (each byte well inside any timeout): closed by the query timeout of that frame,
        # so never later than idle + query timeout after the last complete query.
        before = self.server.stats()
        frame = tcp_frame(build_query("www.example.test.", "A", id=6))
        with tcp_connect(self.server.addr, self.server.port) as s:
            self.ask_on(s, 1)
            t0 = time.monotonic()
            self.assertFalse(wait_closed(s, 1.0), "closed before the idle timeout")
            closed = False
            for b in frame:
                try:
                    s.send(bytes([b]))
                except OSError:
                    closed = True
                    break
                if wait_closed(s, 0.1):
                    closed = True
                    break
            took = time.monotonic() - t0
        self.assertTrue(closed, "a connection trickling bytes was kept")
        self.assertLess(took, 1.5 + 0.7 + 1.0)
        self.assertCounters(self.server, before, tcp_closed_query_timeout=1, tcp_idle_closed=0)

    def test_length_over_the_maximum_closes_at_once(self):
        before = self.server.stats()
        with tcp_connect(self.server.addr, self.server.port) as s:
            # Only the prefix is sent: the server must not wait for (or buffer) 513 bytes.
            s.sendall(struct.pack("!H", 513))
            self.assertTrue(wait_closed(s, 0.5), "connection kept after a 513-byte prefix")
        with tcp_connect(self.server.addr, self.server.port) as s:
            s.sendall(struct.pack("!H", 65535) + b"\x00" * 100)
            self.assertTrue(wait_closed(s, 0.5), "connection kept after a 65535-byte prefix")
        # A query padded to exactly the maximum is answered.
        q = build_query("www.example.test.", "A", id=9)
        with tcp_connect(self.server.addr, self.server.port) as s:
            s.sendall(tcp_frame(q + b"\x00" * (512 - len(q))))
            s.settimeout(3)
            self.assertEqual(parse(tcp_read_message(s)).id, 9)
        self.assertCounters(self.server, before, tcp_closed_oversize=2)

    def test_connections_per_client_address(self):
        src, other = random_loopback(), random_loopback()
        before = self.server.stats()
        conns = [tcp_connect(self.server.addr, self.server.port, src=src) for _ in range(3)]
        try:
            for i, c in enumerate(conns):
                self.ask_on(c, i)
            with tcp_connect(self.server.addr, self.server.port, src=src) as extra:
                self.assertTrue(wait_closed(extra, 2.0), "a 4th connection from one address")
            with tcp_connect(self.server.addr, self.server.port, src=other) as c:
                self.ask_on(c, 10)  # another address is not affected
            for i, c in enumerate(conns):
                self.ask_on(c, 20 + i)  # nor are the three admitted
        finally:
            for c in conns:
                c.close()
        time.sleep(0.3)  # the server sees the FINs: the address's count goes down
        with tcp_connect(self.server.addr, self.server.port, src=src) as c:
            self.ask_on(c, 30)
        self.assertCounters(self.server, before, tcp_rejected_client_limit=1,
                            tcp_connections=5)


class FdLimitTest(SinkholedTestCase):
    """At start the soft RLIMIT_NOFILE is raised to the hard limit, and logged; a limit
    below what the connection limits may need is warned about."""

    def test_soft_limit_raised_to_the_hard_limit(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        self.assertGreater(hard, 256, "this test needs a hard fd limit above 256")
        knot = self.start_knot()
        s = self.start_sinkholed([knot.upstream], workers=1,
                                 exec_prefix=["prlimit", f"--nofile=256:{hard}", "--"])
        self.assertIn(f"info fd limit raised from 256 to {hard}", s.log_text())
        with open(f"/proc/{s.proc.pid}/limits") as f:
            line = next(l for l in f if l.startswith("Max open files"))
        self.assertEqual(line.split()[3:5], [str(hard), str(hard)])
        self.assertEqual(s.udp(build_query("www.example.test.", "A")).values("A"),
                         ["192.0.2.1"])

    def test_a_limit_too_low_is_warned_about(self):
        knot = self.start_knot()
        s = self.start_sinkholed([knot.upstream], workers=2,
                                 server={"tcp_max_connections": 1000},
                                 exec_prefix=["prlimit", "--nofile=512:512", "--"])
        self.assertIn("warning fd limit 512 is below the 3024 the connection limits may need "
                      "(2 workers x server.tcp_max_connections 1000", s.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
