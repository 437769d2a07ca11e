# SPDX-License-Identifier: MIT
"""SIGTERM / SIGINT: stop accepting, finish the queries in flight, exit 0."""

import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    NOERROR, build_query, parse, tcp_connect, tcp_frame, tcp_read_message, wait_closed,
)
from fakes import FAKE_IP, FakeUpstream, answer_for  # noqa: E402
from processes import SinkholedTestCase  # noqa: E402

SLOW = 1.0  # seconds the slow upstream sits on each query


class ShutdownTest(SinkholedTestCase):
    def slow_setup(self):
        fake = self.start_fake(FakeUpstream(lambda q, t: [(SLOW, answer_for(q))], tcp=True))
        s = self.start_sinkholed([fake.upstream], upstream={"timeout": "1500ms",
                                                            "deadline": "2s"})
        return fake, s

    def wait_seen(self, fake, name, timeout=3.0):
        deadline = time.monotonic() + timeout
        while not fake.queries(name):
            self.assertLess(time.monotonic(), deadline, f"{name} never reached the upstream")
            time.sleep(0.01)

    def in_flight_then_signal(self, sig, transport):
        fake, s = self.slow_setup()
        name = f"inflight-{sig.name.lower()}-{transport}.example.test."
        q = build_query(name, "A", id=0x7777)
        result = {}

        def client():
            try:
                send = s.udp if transport == "udp" else s.tcp
                result["reply"] = send(q, timeout=5)
            except BaseException as e:  # noqa: BLE001 - reported below
                result["error"] = e
            result["at"] = time.monotonic()

        t = threading.Thread(target=client, daemon=True)
        t.start()
        self.wait_seen(fake, name)
        t_signal = time.monotonic()
        s.proc.send_signal(sig)
        # While the query is still pending, a new client gets nothing.
        time.sleep(0.2)
        self.assertTrue(s.running(), "exited before finishing the query in flight")
        self.assertFalse(self.new_tcp_client_served(s),
                         f"a new TCP client was served after {sig.name}")
        t.join(6)
        self.assertNotIn("error", result, f"in-flight query lost: {result.get('error')!r}\n"
                                          f"{s.log_text()[-3000:]}")
        r = result["reply"]
        self.assertEqual((r.id, r.rcode, r.values("A")), (0x7777, NOERROR, [FAKE_IP]))
        code = s.proc.wait(5)
        took = time.monotonic() - t_signal
        self.assertEqual(code, 0, s.log_text()[-3000:])
        self.assertLess(took, 4.0)
        s.forget_exited()

    def new_tcp_client_served(self, s):
        try:
            c = tcp_connect(s.addr, s.port, timeout=0.5)
        except OSError:
            return False
        with c:
            try:
                c.sendall(tcp_frame(build_query("version.bind.", "TXT", "CH")))
                c.settimeout(0.5)
                tcp_read_message(c)
                return True
            except (OSError, EOFError):
                return False

    def test_sigterm_udp_query_in_flight_answered(self):
        self.in_flight_then_signal(signal.SIGTERM, "udp")

    def test_sigterm_tcp_query_in_flight_answered(self):
        self.in_flight_then_signal(signal.SIGTERM, "tcp")

    def test_sigint_udp_query_in_flight_answered(self):
        self.in_flight_then_signal(signal.SIGINT, "udp")

    def test_sigint_tcp_query_in_flight_answered(self):
        self.in_flight_then_signal(signal.SIGINT, "tcp")

    def test_idle_exit_is_prompt(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig.name):
                fake = self.start_fake(FakeUpstream())
                s = self.start_sinkholed([fake.upstream])
                self.assertEqual(s.udp(build_query("a.example.test.", "A")).values("A"),
                                 [FAKE_IP])
                code, took = s.signal_stop(sig, timeout=5)
                self.assertEqual(code, 0, s.log_text()[-3000:])
                self.assertLess(took, 2.0)
                s.forget_exited()

    def test_open_idle_tcp_connection_does_not_delay_exit(self):
        # The default idle timeout is 10 s; an idle client must not hold the exit that long.
        fake = self.start_fake(FakeUpstream())
        s = self.start_sinkholed([fake.upstream])
        c = tcp_connect(s.addr, s.port)
        self.addCleanup(c.close)
        c.sendall(tcp_frame(build_query("a.example.test.", "A", id=5)))
        self.assertEqual(parse(tcp_read_message(c)).id, 5)
        code, took = s.signal_stop(signal.SIGTERM, timeout=8)
        self.assertEqual(code, 0, s.log_text()[-3000:])
        self.assertLess(took, 3.0)
        self.assertTrue(wait_closed(c, 1.0), "client connection not closed at exit")
        s.forget_exited()


if __name__ == "__main__":
    unittest.main(verbosity=2)
