# SPDX-License-Identifier: MIT
"""Fault tests 7 and 8 (issue 12), real processes on loopback.

7. 2,000 trickling connections (a byte of a query every second) plus 1,000 idle ones,
   kept up for several seconds (the attacker — a process of its own at the lowest CPU
   priority — reconnects whatever is closed), from 100 loopback addresses: UDP clients and a fresh TCP client are still answered in
   milliseconds, and the slow connections are closed by the timeouts (the attacker sees
   EOF/RST; the counters say which timeout). Run twice: with room for every connection
   (tcp_max_connections above the flood), and with a limit below it, where the fresh
   client gets in because the idlest connection gives way. /metrics is scraped during
   the flood (its descriptors are then past 1024: libmicrohttpd polls with epoll).
8. A TCP client that pipelines ~700 KB of queries for a 13 KB answer and never reads:
   the daemon pauses the connection, then closes it (write bound or write timeout),
   and its RSS stays within a few MiB of where it was (the queue bound is 256 KiB).

Latency limits: the flood may add at most 10 ms to the median probe (the issue's figure;
25 ms while the flood churns through evictions), measured against the same probes just
before the flood — so that a loaded CI machine or a sanitizer build, slow with or without
the flood, is not mistaken for the flood's effect; and the slowest probe must stay under
1 s. In RelWithDebInfo the medians are 0.5-1 ms during the flood (3-20 ms with evictions),
the slowest 50-250 ms on a quiet machine, up to ~0.8 s on a two-core box with a load
average of 12 (the daemon's second's worth of trickled bytes then waits for the CPU). The
figures are printed.
"""

import http.client
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    build_query, parse, tcp_connect, tcp_frame, tcp_read_message, udp_exchange, wait_closed,
)
from policy_harness import PolicySinkholed  # noqa: E402
from processes import SinkholedTestCase, free_tcp_port, random_loopback  # noqa: E402
from zones import soa_zone_text, txt_strings, zone_files  # noqa: E402

IDLE_TIMEOUT = 2.0
QUERY_TIMEOUT = 3.0
TRICKLE_INTERVAL = 1.0
N_TRICKLE = 2000
N_IDLE = 1000
ATTACK_SECONDS = 10.0
PROBE_SECONDS = 6.0


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def slow_flood(addr, port, sources, conn):
    """The attacker, in a process of its own (the probes' timing must not wait for it):
    N_TRICKLE connections sending one byte of a query frame every TRICKLE_INTERVAL, N_IDLE
    sending nothing; every connection closed by the server is opened again until
    ATTACK_SECONDS are over. Sends "ready" once the first N_TRICKLE + N_IDLE are open,
    then a dict of what it saw. At the lowest CPU priority: a real attacker's CPU is on
    other machines, and here it shares two cores with the daemon and the probes."""
    os.nice(19)
    raise_fd_limit()
    frame = tcp_frame(build_query("www.example.test.", "A", id=1))
    sel = selectors.DefaultSelector()
    live = {}  # socket → [kind, opened at, bytes sent, first batch?]
    seen = {"opened": 0, "refused": 0, "closed_trickle": 0, "closed_idle": 0,
            "first_trickle_lifetimes": [], "first_idle_lifetimes": [], "max_open": 0}
    counter = [0]

    def open_one(kind, first):
        src = sources[counter[0] % len(sources)]
        counter[0] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(2.0)
            s.bind((src, 0))
            s.connect((addr, port))
            s.setblocking(False)
            if kind == "trickle":
                s.send(frame[:1])
        except OSError:
            s.close()
            seen["refused"] += 1
            return
        live[s] = [kind, time.monotonic(), 1 if kind == "trickle" else 0, first]
        sel.register(s, selectors.EVENT_READ)
        seen["opened"] += 1

    def closed(s):
        kind, opened_at, _, first = live.pop(s)
        sel.unregister(s)
        s.close()
        seen[f"closed_{kind}"] += 1
        if first:
            seen[f"first_{kind}_lifetimes"].append(time.monotonic() - opened_at)
        return kind

    for i in range(N_TRICKLE + N_IDLE):
        open_one("trickle" if i < N_TRICKLE else "idle", True)
    seen["max_open"] = len(live)
    conn.send("ready")
    start = time.monotonic()
    next_trickle = start + TRICKLE_INTERVAL
    while time.monotonic() - start < ATTACK_SECONDS:
        reopen = []
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                reopen.append(closed(s))
        now = time.monotonic()
        if now >= next_trickle:
            next_trickle = now + TRICKLE_INTERVAL
            for s, state in list(live.items()):
                if state[0] != "trickle":
                    continue
                try:
                    s.send(frame[state[2] % len(frame):state[2] % len(frame) + 1])
                    state[2] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    reopen.append(closed(s))
        for kind in reopen:
            open_one(kind, False)
        seen["max_open"] = max(seen["max_open"], len(live))
    seen["open_at_end"] = len(live)
    # The flood is over: nothing is reopened, but what the server still closes is seen
    # (this process runs at the lowest priority and may have been slow to look).
    end = time.monotonic() + 15.0
    while time.monotonic() < end and any(state[3] for state in live.values()):
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed(s)
    for s in list(live):
        s.close()
    conn.send(seen)


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


class SlowClientFloodBase:
    """Fault test 7; subclasses choose tcp_max_connections."""

    MAX_CONNECTIONS = None
    MEDIAN_LIMIT = 0.010
    MAX_LIMIT = 1.0

    @classmethod
    def setUpClass(cls):
        raise_fd_limit()
        cls.knot = cls.class_knot()
        # /metrics too: scraped during the flood, when its descriptors are past 1024.
        cls.maddr = random_loopback()
        cls.mport = free_tcp_port(cls.maddr)
        s = PolicySinkholed([cls.knot.upstream], f'metrics:\n  listen: "{cls.maddr}:{cls.mport}"\n',
                            workers=1, ipv6=False, cache={"max_bytes": "4MiB"}, server={
                                "tcp_idle_timeout": f"{IDLE_TIMEOUT}s",
                                "tcp_query_timeout": f"{QUERY_TIMEOUT}s",
                                "tcp_max_connections": cls.MAX_CONNECTIONS,
                            })
        cls.addClassCleanup(s.cleanup)
        cls.server = s.start()

    def scrape(self):
        c = http.client.HTTPConnection(self.maddr, self.mport, timeout=5)
        try:
            t0 = time.monotonic()
            c.request("GET", "/metrics")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn("sinkholed_tcp_connections_total", r.read().decode())
            return time.monotonic() - t0
        finally:
            c.close()

    def probe_udp(self):
        q = build_query("www.example.test.", "A")
        t0 = time.monotonic()
        r = udp_exchange(self.server.addr, self.server.port, q, timeout=2.0, src=self.client)
        took = time.monotonic() - t0
        self.assertIsNotNone(r, "a UDP probe went unanswered")
        self.assertEqual(parse(r).values("A"), ["192.0.2.1"])
        return took

    def probe_tcp(self):
        """A fresh TCP client: connect, ask, read the answer."""
        q = build_query("www.example.test.", "A")
        t0 = time.monotonic()
        with tcp_connect(self.server.addr, self.server.port, timeout=2.0, src=self.client) as s:
            s.sendall(tcp_frame(q))
            r = parse(tcp_read_message(s))
        took = time.monotonic() - t0
        self.assertEqual(r.values("A"), ["192.0.2.1"])
        return took

    def run_flood(self):
        self.client = random_loopback()
        self.probe_udp()  # warms the cache: the probes measure the server, not knotd
        self.probe_tcp()
        # The same probes without the flood first: the machine's own latency (a loaded
        # CI box, a sanitizer build) is the baseline the flood's effect is measured from.
        base_udp, base_tcp = [], []
        for _ in range(20):
            base_udp.append(self.probe_udp())
            base_tcp.append(self.probe_tcp())
            time.sleep(0.05)
        before = self.server.stats()
        sources = [random_loopback() for _ in range(100)]
        parent, child = multiprocessing.Pipe()
        attacker = multiprocessing.Process(
            target=slow_flood, args=(self.server.addr, self.server.port, sources, child))
        attacker.start()
        try:
            self.assertTrue(parent.poll(60), "the attacker could not open its connections")
            self.assertEqual(parent.recv(), "ready")
            udp, tcp = [], []
            end = time.monotonic() + PROBE_SECONDS
            resets = 0
            while time.monotonic() < end:
                udp.append(self.probe_udp())
                t0 = time.monotonic()
                try:
                    self.probe_tcp()
                except (ConnectionResetError, BrokenPipeError):
                    # At the connection limit a fresh connection that has not yet sent
                    # its query is itself the idlest once ~1,000 newer ones arrived (the
                    # attacker reopens ~2,700 a second): evicted, as a stub would see it,
                    # and retried once, as a stub does. Rare, and bounded below.
                    resets += 1
                    self.probe_tcp()
                tcp.append(time.monotonic() - t0)
                time.sleep(0.1)
            scrape = self.scrape()
            self.assertTrue(parent.poll(ATTACK_SECONDS + 30), "the attacker did not finish")
            seen = parent.recv()
        finally:
            attacker.join(30)
            if attacker.is_alive():
                attacker.kill()
        self.assertTrue(self.server.running())
        stats = self.server.stats()
        delta = {k: stats[k] - before.get(k, 0) for k in stats if k.startswith("tcp_")}
        ms = lambda v: f"{v * 1000:.2f}"  # noqa: E731
        first_t, first_i = seen["first_trickle_lifetimes"], seen["first_idle_lifetimes"]
        print(f"\n[{type(self).__name__}] tcp_max_connections={self.MAX_CONNECTIONS}: "
              f"without the flood UDP p50 {ms(statistics.median(base_udp))} ms, fresh TCP p50 "
              f"{ms(statistics.median(base_tcp))} ms; during the flood "
              f"{len(udp)} UDP probes p50 {ms(statistics.median(udp))} ms p95 "
              f"{ms(percentile(udp, 0.95))} max {ms(max(udp))}; fresh TCP p50 "
              f"{ms(statistics.median(tcp))} p95 {ms(percentile(tcp, 0.95))} max "
              f"{ms(max(tcp))} ms ({resets} reset, retried); /metrics {ms(scrape)} ms; attacker: {seen['opened']} opened, {seen['refused']} "
              f"refused, at most {seen['max_open']} open, closed trickle "
              f"{seen['closed_trickle']} idle {seen['closed_idle']}; first batch lifetimes: "
              f"trickle {min(first_t, default=0):.2f}-{max(first_t, default=0):.2f} s, idle "
              f"{min(first_i, default=0):.2f}-{max(first_i, default=0):.2f} s; counters "
              f"{delta}", flush=True)
        self.assertLess(statistics.median(udp) - statistics.median(base_udp), self.MEDIAN_LIMIT)
        self.assertLess(statistics.median(tcp) - statistics.median(base_tcp), self.MEDIAN_LIMIT)
        self.assertLessEqual(resets, len(tcp) // 10, f"{resets} of {len(tcp)} fresh TCP "
                             "clients reset")
        self.assertLess(max(udp), self.MAX_LIMIT)
        self.assertLess(max(tcp), self.MAX_LIMIT)
        self.assertLess(scrape, 1.0)
        return seen, delta

    def assertFirstBatchClosed(self, seen):
        # Every connection of the first batch was closed by the server (EOF or RST seen
        # by the attacker). How soon is the counters' business (and test_tcp_limits.py's,
        # one connection at a time): the attacker runs at the lowest priority, and on a
        # loaded machine notices a close seconds late.
        first_t, first_i = seen["first_trickle_lifetimes"], seen["first_idle_lifetimes"]
        self.assertEqual(len(first_t), N_TRICKLE, "trickling connections kept open")
        self.assertEqual(len(first_i), N_IDLE, "idle connections kept open")


class SlowClientFloodTest(SlowClientFloodBase, SinkholedTestCase):
    MAX_CONNECTIONS = 4000  # every slow connection fits: the timeouts do the work

    def test_trickling_and_idle_connections(self):
        seen, delta = self.run_flood()
        self.assertGreaterEqual(seen["max_open"], N_TRICKLE + N_IDLE)
        self.assertFirstBatchClosed(seen)
        self.assertGreaterEqual(delta["tcp_closed_query_timeout"], N_TRICKLE)
        self.assertGreaterEqual(delta["tcp_idle_closed"], N_IDLE)
        self.assertEqual(delta["tcp_rejected_limit"], 0)
        self.assertEqual(delta["tcp_closed_evicted"], 0)


class SlowClientFloodAtTheLimitTest(SlowClientFloodBase, SinkholedTestCase):
    MAX_CONNECTIONS = 1000  # a third of the flood: fresh clients get in by eviction
    # Every attacker connection closed is reopened at once, and evicts another: ~2,700
    # accepts and closes a second on the same two cores as the probes (the attacker's
    # own CPU included). Still answered in milliseconds (p50 ~5 ms, slowest ~250 ms in
    # RelWithDebInfo), with room for sanitizer builds.
    MEDIAN_LIMIT = 0.025

    def test_fresh_clients_get_in_at_the_limit(self):
        seen, delta = self.run_flood()
        self.assertGreater(delta["tcp_closed_evicted"], 0)
        self.assertFirstBatchClosed(seen)


class NeverReadingClientTest(SinkholedTestCase):
    """Fault test 8."""

    @classmethod
    def setUpClass(cls):
        zones = zone_files()
        big = " ".join(f'"{s}"' for s in txt_strings(13000, "b13"))
        zones["big.test"] = soa_zone_text("big.test", [f"txt13k 3600 IN TXT {big}",
                                                       f"*.w 3600 IN TXT {big}"])
        cls.knot = cls.class_knot(zones=zones)
        cls.server = cls.class_sinkholed([cls.knot.upstream], workers=1, ipv6=False,
                                         cache={"max_bytes": "8MiB"},
                                         server={"tcp_write_timeout": "2s"})

    def rss_kib(self):
        with open(f"/proc/{self.server.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def test_memory_bounded_and_connection_closed(self):
        q = build_query("txt13k.big.test.", "TXT", id=1)
        warm = self.server.tcp(q)  # cached: every pipelined query is answered at once
        answer_size = sum(len(s) for rr in warm.values("TXT") for s in rr)
        self.assertGreater(answer_size, 13000)
        time.sleep(0.5)
        base = self.rss_kib()
        before = self.server.stats()
        frames = b"".join(tcp_frame(build_query("txt13k.big.test.", "TXT", id=i & 0xFFFF))
                          for i in range(20000))  # ~700 KB of queries, ~270 MB of answers
        frame_len = len(frames) // 20000
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never read
        s.connect((self.server.addr, self.server.port))
        s.setblocking(False)
        sent, peak, stall = 0, base, time.monotonic()
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < 15:
                try:
                    if sent < len(frames):
                        n = s.send(frames[sent:sent + 65536])
                        sent += n
                        stall = time.monotonic()
                except BlockingIOError:
                    pass
                except OSError:  # reset: the server closed it
                    break
                peak = max(peak, self.rss_kib())
                time.sleep(0.02)
                if time.monotonic() - stall > 1.0:
                    got = self.server.stats()
                    if (got["tcp_closed_write_bound"] + got["tcp_closed_write_timeout"]
                            > before["tcp_closed_write_bound"]
                            + before["tcp_closed_write_timeout"]):
                        break
            peak = max(peak, self.rss_kib())
            # Whatever was in flight drains; then the client sees the close (EOF or RST).
            s.setblocking(True)
            self.assertTrue(wait_closed(s, 10.0), "the never-reading client was kept")
        finally:
            s.close()
        stats = self.server.stats()
        delta = {k: stats[k] - before.get(k, 0) for k in stats if k.startswith("tcp_")}
        print(f"\n[fault 8] sent {sent} bytes of queries ({sent // frame_len} queries); RSS "
              f"{base / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB "
              f"(+{(peak - base) / 1024:.1f} MiB); counters {delta}", flush=True)
        self.assertEqual(delta["tcp_closed_write_bound"] + delta["tcp_closed_write_timeout"], 1)
        self.assertGreaterEqual(delta["tcp_paused"], 1)
        # The bound is 256 KiB of queued answers; allocator slack and a sanitizer's
        # quarantine stay within a few MiB. Before the bound this took +250 MiB.
        self.assertLess(peak - base, 20 * 1024)
        # And the daemon serves on.
        self.assertEqual(self.server.udp(build_query("www.example.test.", "A")).values("A"),
                         ["192.0.2.1"])

    def test_answers_arriving_together_hit_the_bound(self):
        # 100 pipelined queries for one uncached name wait for one upstream answer, then
        # 100 x 13 KB are due at once for a client that does not read: past
        # tcp_max_queued_bytes the connection is closed, the rest never queued.
        name = f"r{os.getpid()}-{time.monotonic_ns()}.w.big.test."
        before = self.server.stats()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect((self.server.addr, self.server.port))
            s.sendall(b"".join(tcp_frame(build_query(name, "TXT", id=i)) for i in range(100)))
            time.sleep(1.0)  # not reading while the answers come
            self.assertTrue(wait_closed(s, 5.0), "the connection was kept")
        finally:
            s.close()
        self.assertCounters(self.server, before, tcp_closed_write_bound=1,
                            tcp_closed_write_timeout=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
