# SPDX-License-Identifier: MIT
"""The HTTP endpoint's bounds (metrics.max_connections, max_connections_per_client,
timeout): 200 half-open connections — connected, a request begun and never finished —
do not lock the scraper out. From one address they hit the per-address limit and the
scrape from elsewhere is answered at once; from 200 addresses they fill the total (the
rest wait in the listen backlog or time out connecting), and the scrape is answered once
the timeout has closed them (they see EOF)."""

import http.client
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port, random_loopback  # noqa: E402

TIMEOUT = 2  # metrics.timeout, seconds
MAX = 64
PER_CLIENT = 8


class MetricsLimitsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.maddr = random_loopback()
        cls.mport = free_tcp_port(cls.maddr)
        cls.server = cls.class_policy_sinkholed(
            [cls.knot.upstream],
            f'metrics:\n  listen: "{cls.maddr}:{cls.mport}"\n  max_connections: {MAX}\n'
            f"  max_connections_per_client: {PER_CLIENT}\n  timeout: {TIMEOUT}s\n",
            ipv6=False)

    def scrape(self, src, timeout=10.0):
        c = http.client.HTTPConnection(self.maddr, self.mport, timeout=timeout,
                                       source_address=(src, 0))
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def half_open(self, sources, n):
        out = []
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            s.bind((sources[i % len(sources)], 0))
            try:
                s.connect((self.maddr, self.mport))
            except OSError:  # at the total limit new ones wait in the backlog, then time out
                s.close()
                continue
            try:
                s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
            except OSError:
                pass  # already closed by the server
            out.append(s)
        return out

    @staticmethod
    def count_closed(socks, within):
        """How many of `socks` the server closed (EOF or RST) within `within` seconds."""
        deadline = time.monotonic() + within
        closed = set()
        while time.monotonic() < deadline and len(closed) < len(socks):
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                s.setblocking(False)
                try:
                    if s.recv(4096) == b"":
                        closed.add(i)
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(i)
            time.sleep(0.05)
        return len(closed)

    def test_half_open_from_one_address(self):
        attacker = random_loopback()
        socks = self.half_open([attacker], 200)
        self.assertEqual(len(socks), 200)
        try:
            t0 = time.monotonic()
            status, body = self.scrape(random_loopback())
            took = time.monotonic() - t0
            print(f"\n[metrics] scrape with 200 half-open connections from one address: "
                  f"{took * 1000:.1f} ms", flush=True)
            self.assertEqual(status, 200)
            self.assertIn("sinkholed_queries_total", body)
            self.assertLess(took, 1.0)  # not waiting for any timeout
            # All but PER_CLIENT were turned away at once.
            self.assertGreaterEqual(self.count_closed(socks, 0.5), 200 - PER_CLIENT)
        finally:
            for s in socks:
                s.close()

    def test_half_open_from_many_addresses(self):
        socks = self.half_open([random_loopback() for _ in range(200)], 200)
        try:
            t0 = time.monotonic()
            status = None
            while time.monotonic() - t0 < TIMEOUT + 8:
                try:
                    status, _ = self.scrape(random_loopback(), timeout=TIMEOUT + 8)
                    break
                except (OSError, http.client.HTTPException):
                    time.sleep(0.1)  # turned away while the half-open ones hold the slots
            took = time.monotonic() - t0
            print(f"\n[metrics] scrape with 200 half-open connections from 200 addresses: "
                  f"{took * 1000:.1f} ms (timeout {TIMEOUT} s)", flush=True)
            self.assertEqual(status, 200)
            self.assertLess(took, TIMEOUT + 5)
            # Every half-open connection that got in is gone: turned away, or timed out
            # (those that waited in the backlog after the first timed-out ones).
            self.assertGreaterEqual(len(socks), MAX)
            self.assertEqual(self.count_closed(socks, 2 * TIMEOUT + 3), len(socks))
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
