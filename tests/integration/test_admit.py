# SPDX-License-Identifier: MIT
"""The admit stage and response rate limiting, against the real daemon.

Access control: a client in server.deny_query is REFUSED (EDE 18, ID and question echoed)
over UDP and its TCP connection is closed at accept, unread; a client outside allow_query
is refused; refuse_action: drop answers nothing; every case counted.

Fault test 6 (issue 12): a flood from one /24 (127.0.5.x) is held to the configured rate
(drops and TC=1 slips counted, the answered rate measured) while another /24 (127.0.6.x)
keeps full service; a limited client that retries over TCP gets its answer. The figures
are printed."""

import os
import select
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, REFUSED, build_query, parse, tcp_from, udp_from  # noqa: E402
from processes import Sinkholed, SinkholedTestCase  # noqa: E402

QNAME = "www.example.test."


class AdmitSinkholed(Sinkholed):
    """Sinkholed with YAML of our own: `server_yaml` (a function of the server's own
    address, which the harness picks at start) goes into the server section, `top_yaml`
    at the top level."""

    def __init__(self, upstreams, server_yaml=lambda addr: "", top_yaml="", **kw):
        super().__init__(upstreams, **kw)
        self.server_yaml = server_yaml
        self.top_yaml = top_yaml

    def config_text(self):
        text = super().config_text()
        return text.replace("server:\n", "server:\n" + self.server_yaml(self.addr), 1) + \
            self.top_yaml


# The harness puts servers on random 127.x.y.z with x >= 1, so clients in 127.0.0.0/16 are
# never the server's own address.
DENIED_NET, DENIED_SRC, ALLOWED_SRC, STRANGER_SRC = (
    "127.0.9.0/24", "127.0.9.7", "127.0.10.1", "127.0.11.1")


class AccessControlTest(SinkholedTestCase):
    def start_admit(self, **kw):
        s = AdmitSinkholed([self.knot.upstream], **kw)
        self.addCleanup(s.cleanup)
        return s.start()

    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def test_deny_query_refused_on_udp_closed_on_tcp(self):
        s = self.start_admit(server_yaml=lambda addr: f"  deny_query: [\"{DENIED_NET}\"]\n")
        src, allowed = DENIED_SRC, ALLOWED_SRC
        before = s.stats()
        q = build_query(QNAME, "A", id=0x7A7A, edns=True)
        r = parse(udp_from(src, s.addr, s.port, q))
        self.assertEqual((r.rcode, r.id), (REFUSED, 0x7A7A), repr(r))
        self.assertEqual(r.question_bytes, parse(q).question_bytes)
        self.assertEqual(r.ede_codes(), [18])
        self.assertIsNone(tcp_from(src, s.addr, s.port, q))
        ok = parse(udp_from(allowed, s.addr, s.port, q))
        self.assertEqual((ok.rcode, ok.values("A")), (NOERROR, ["192.0.2.1"]))
        self.assertCounters(s, before, refused_acl=1, tcp_rejected_acl=1, upstream_queries=1,
                            queries_tcp=0)

    def test_outside_allow_query_refused_or_dropped(self):
        # Only loopback's primary address and ::1: the sources the kernel gives the
        # harness's own queries (and its readiness probes).
        for action in ("refuse", "drop"):
            with self.subTest(action):
                s = self.start_admit(server_yaml=lambda addr, a=action: (
                    f"  allow_query: [\"127.0.0.1/32\", \"{addr}/32\", \"::1/128\"]\n"
                    f"  refuse_action: {a}\n"))
                stranger = STRANGER_SRC
                before = s.stats()
                q = build_query(QNAME, "A")
                reply = udp_from(stranger, s.addr, s.port, q, timeout=0.5)
                if action == "refuse":
                    self.assertEqual(parse(reply).rcode, REFUSED)
                else:
                    self.assertIsNone(reply)
                self.assertEqual(s.udp(q).values("A"), ["192.0.2.1"])  # from its own address
                self.assertEqual(s.udp(q, addr="::1").values("A"), ["192.0.2.1"])
                self.assertCounters(s, before, refused_acl=int(action == "refuse"),
                                    dropped_acl=int(action == "drop"), upstream_queries=2)


class Flood:
    """Sends `rate` queries a second for `seconds` from the given source addresses (round
    robin, one socket each) and reads what comes back: full answers and TC=1 slips."""

    def __init__(self, sources, dest, rate, seconds):
        self.socks = []
        for src in sources:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((src, 0))
            s.setblocking(False)
            self.socks.append(s)
        self.dest, self.rate, self.seconds = dest, rate, seconds
        self.sent = self.answered = self.slipped = 0
        self.query = build_query(QNAME, "A", id=0x5151)

    def _drain(self):
        r, _, _ = select.select(self.socks, [], [], 0)
        for s in r:
            while True:
                try:
                    reply = s.recv(4096)
                except BlockingIOError:
                    break
                flags = struct.unpack("!H", reply[2:4])[0]
                if flags & 0x0200:
                    self.slipped += 1
                else:
                    self.answered += 1

    def run(self):
        start = time.monotonic()
        i = 0
        while True:
            now = time.monotonic()
            if now - start >= self.seconds:
                break
            due = int((now - start) * self.rate)
            while self.sent < due:
                try:
                    self.socks[i % len(self.socks)].sendto(self.query, self.dest)
                except BlockingIOError:
                    pass
                self.sent += 1
                i += 1
            self._drain()
            time.sleep(0.001)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            self._drain()
            time.sleep(0.01)
        for s in self.socks:
            s.close()
        return self


class RateLimitTest(SinkholedTestCase):
    RATE = 100  # responses a second per /24
    BURST = 50
    FLOOD_QPS = 2000
    SECONDS = 3.0

    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        s = AdmitSinkholed([cls.knot.upstream], cache={"max_bytes": "16MiB"},
                           top_yaml=f"rate_limit:\n  responses_per_second: {cls.RATE}\n"
                                    f"  burst: {cls.BURST}\n  slip: 2\n")
        cls.addClassCleanup(s.cleanup)
        cls.server = s.start()

    def test_flood_from_one_prefix_limited_other_prefix_served(self):
        s = self.server
        q = build_query(QNAME, "A")
        self.assertEqual(s.udp(q).values("A"), ["192.0.2.1"])  # cached from now on
        before = s.stats()
        flood = Flood([f"127.0.5.{i}" for i in range(1, 21)], (s.addr, s.port),
                      self.FLOOD_QPS, self.SECONDS)
        # The other /24 asks 20 times a second, one query at a time, during the flood.
        import threading
        good = {"sent": 0, "answered": 0, "slipped": 0, "lost": 0}

        def good_client():
            deadline = time.monotonic() + self.SECONDS
            n = 0
            while time.monotonic() < deadline:
                reply = udp_from(f"127.0.6.{1 + n % 20}", s.addr, s.port, q, timeout=1.0)
                n += 1
                good["sent"] += 1
                if reply is None:
                    good["lost"] += 1
                elif struct.unpack("!H", reply[2:4])[0] & 0x0200:
                    good["slipped"] += 1
                else:
                    good["answered"] += 1
                time.sleep(0.05)

        t = threading.Thread(target=good_client)
        t.start()
        flood.run()
        t.join()
        after = s.stats()
        dropped = after["rate_limited_dropped"] - before.get("rate_limited_dropped", 0)
        slipped = after["rate_limited_slipped"] - before.get("rate_limited_slipped", 0)
        answered_rate = flood.answered / self.SECONDS
        print(f"\nflood 127.0.5.0/24: sent {flood.sent} ({flood.sent / self.SECONDS:.0f}/s), "
              f"answered {flood.answered} ({answered_rate:.0f}/s; limit {self.RATE}/s, burst "
              f"{self.BURST}), TC=1 slips {flood.slipped}; server: rate_limited_dropped "
              f"{dropped}, rate_limited_slipped {slipped}\n"
              f"other /24 127.0.6.0/24: sent {good['sent']}, answered {good['answered']}, "
              f"slipped {good['slipped']}, lost {good['lost']}", flush=True)
        # The flood got about the configured rate: the burst plus RATE a second, no more.
        self.assertLessEqual(flood.answered, self.BURST + self.RATE * (self.SECONDS + 1))
        self.assertGreaterEqual(flood.answered, self.RATE * self.SECONDS * 0.5)
        self.assertGreater(flood.sent, 3 * flood.answered)  # it really was over the limit
        self.assertGreater(dropped, 0)
        self.assertGreater(slipped, 0)
        # slip 2: every second limited reply is a TC=1 (server-side counts).
        self.assertLessEqual(abs(dropped - slipped), 2)
        self.assertGreaterEqual(flood.slipped, slipped * 0.9)  # they arrived
        # The other /24 kept full service: every query answered, none limited.
        self.assertEqual((good["answered"], good["slipped"], good["lost"]),
                         (good["sent"], 0, 0))
        self.assertGreater(good["sent"], 10)

    def test_a_slipped_client_gets_its_answer_over_tcp(self):
        s = self.server
        q = build_query(QNAME, "A")
        self.assertEqual(s.udp(q).values("A"), ["192.0.2.1"])
        src = "127.0.7.1"
        # Spend the /24's burst, then ask until a TC=1 slip comes back.
        tc = None
        for _ in range(self.BURST + 20):
            reply = udp_from(src, s.addr, s.port, q, timeout=0.05)
            if reply is not None and struct.unpack("!H", reply[2:4])[0] & 0x0200:
                tc = parse(reply)
                break
        self.assertIsNotNone(tc, "no TC=1 slip after the burst")
        self.assertEqual(tc.answer, [])
        self.assertEqual(tc.question_bytes, parse(q).question_bytes)
        # As a real stub does: the same question over TCP, never limited.
        for _ in range(5):
            r = parse(tcp_from(src, s.addr, s.port, q))
            self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
