# SPDX-License-Identifier: MIT
"""PROXY protocol v2 (server.proxy_protocol_from) against the real daemon, with knotd as
its upstream and Python playing the load balancer (proxy_v2.py writes the headers).

From the trusted proxy source, queries over UDP and TCP carry IPv4 and IPv6 clients of two
client groups with different policies: each gets its own group's answer, and the
blocked-query log, the protected-user count (sinkholectl stats --json) and the counters
name the real clients, never the proxy. A LOCAL header (a health check) is served as the
proxy itself. A header from a source that is not trusted, a trusted source without one,
and malformed headers (truncated, version 1, a huge length, a TLV past the end, a
command 2) are dropped (UDP) or closed (TCP) and counted, and the server keeps serving.
A reload that empties proxy_protocol_from turns the trust off at once.

dnsdist 1.7.3 (Debian) in front, for real: see DnsdistTest at the end (its queries and its
health checks; the health-check finding is written there)."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_v2  # noqa: E402
from ctl import sinkholectl  # noqa: E402
from dnswire import (NOERROR, build_query, parse, tcp_connect, tcp_frame,  # noqa: E402
                     tcp_from, tcp_read_message, udp_from, wait_closed)
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_port, random_loopback, stop_process  # noqa: E402
from test_dnstap import decode  # noqa: E402

# The harness puts servers on random 127.x.y.z with x >= 1: 127.0.12.x is never a server.
PROXY_SRC = "127.0.12.2"     # the trusted load balancer
STRANGER_SRC = "127.0.12.3"  # not trusted: its headers are refused
NORTH_A = "203.0.113.21"     # north's warning page
SOUTH_A = "203.0.113.22"     # south's
PROXIES_A = "203.0.113.23"   # what the proxies' own group (health checks) gets

POLICY = f"""\
lists:
  gambling: {{ path: gambling.txt, category: gambling }}
actions:
  north-warn: {{ type: sinkhole, a: {NORTH_A} }}
  south-warn: {{ type: sinkhole, a: {SOUTH_A} }}
  proxies-warn: {{ type: sinkhole, a: {PROXIES_A} }}
policies:
  - name: north
    clients: [10.2.0.0/16, "2001:db8:2::/48"]
    block: [{{ list: gambling, action: north-warn }}]
  - name: south
    clients: [10.3.0.0/16, "2001:db8:3::/48"]
    block: [{{ list: gambling, action: south-warn }}]
  - name: proxies
    clients: [127.0.0.0/8, "::1/128"]
    block: [{{ list: gambling, action: proxies-warn }}]
"""
FILES = {"gambling.txt": "casino.proxy.test\n"}
BLOCKED = "www.casino.proxy.test."
ALLOWED = "www.example.test."  # knotd's: 192.0.2.1

SERVER = {
    "allow_query": ["10.0.0.0/8", "2001:db8::/32", "127.0.0.0/8", "::1/128"],
    "proxy_protocol_from": [f"{PROXY_SRC}/32"],
    "tcp_query_timeout": "1s",
}
# (client address, the answer its group gets for BLOCKED)
CLIENTS = [("10.2.0.5", NORTH_A), ("10.3.0.5", SOUTH_A),
           ("2001:db8:2::5", NORTH_A), ("2001:db8:3::5", SOUTH_A)]


def udp_via(server, src, header, query, timeout=1.0):
    return udp_from(src, server.addr, server.port, header + query, timeout)


def tcp_session(server, src, preamble, queries, timeout=3.0):
    """Connects from `src`, sends `preamble` then each query framed, in one write; returns
    the replies (parsed, by ID), or None when the server closes the connection first."""
    with tcp_connect(server.addr, server.port, timeout, src=src) as s:
        s.sendall(preamble + b"".join(tcp_frame(q) for q in queries))
        replies = {}
        try:
            for _ in queries:
                r = parse(tcp_read_message(s))
                replies[r.id] = r
        except (EOFError, ConnectionResetError, socket.timeout):
            return None
        return replies


class ProxyProtocolTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()
        cls.server = cls.class_policy_sinkholed(
            [cls.knot.upstream], POLICY, FILES, server=SERVER,
            log={"blocked_queries": True, "client_address": "full"})

    def blocked_lines(self, before):
        s = self.server
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            lines = [l for l in s.log_since(before).splitlines() if "blocked name=" in l]
            if lines:
                return lines
            time.sleep(0.05)
        return []

    def test_udp_clients_get_their_groups_answers(self):
        s = self.server
        before, log_at = s.stats(), s.log_size()
        for i, (client, want) in enumerate(CLIENTS):
            with self.subTest(client):
                h = proxy_v2.header((client, 5000 + i), (s.addr, s.port))
                r = parse(udp_via(s, PROXY_SRC, h, build_query(BLOCKED, "A", id=0x100 + i)))
                self.assertEqual((r.id, r.rcode, r.values("A")), (0x100 + i, NOERROR, [want]))
                r = parse(udp_via(s, PROXY_SRC, h, build_query(ALLOWED, "A", id=0x200 + i)))
                self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))
        self.assertCounters(s, before, queries_udp=8, queries_proxied=8, blocked=4,
                            proxy_header_missing=0, refused_acl=0)
        # The blocked-query log names each real client, never the proxy.
        lines = self.blocked_lines(log_at)
        clients = sorted(re.search(r"client=(\S+)", l).group(1) for l in lines)
        self.assertEqual(clients, sorted(c for c, _ in CLIENTS), lines)
        self.assertFalse(any(PROXY_SRC in l for l in lines), lines)
        self.assertTrue(any("policy=south" in l and "client=2001:db8:3::5" in l for l in lines))

    def test_tcp_clients_get_their_groups_answers(self):
        s = self.server
        before = s.stats()
        for i, (client, want) in enumerate(CLIENTS):
            with self.subTest(client):
                h = proxy_v2.header((client, 6000 + i), (s.addr, s.port), tcp=True)
                # The header and two pipelined queries in one segment.
                replies = tcp_session(s, PROXY_SRC, h, [build_query(BLOCKED, "A", id=0x300),
                                                        build_query(ALLOWED, "A", id=0x301)])
                self.assertIsNotNone(replies, "connection closed")
                self.assertEqual(replies[0x300].values("A"), [want])
                self.assertEqual(replies[0x301].values("A"), ["192.0.2.1"])
        # The header split over several writes, byte by byte at first.
        h = proxy_v2.header(("10.3.0.77", 7000), (s.addr, s.port), tcp=True)
        with tcp_connect(s.addr, s.port, 3.0, src=PROXY_SRC) as c:
            for b in h[:14]:
                c.sendall(bytes([b]))
                time.sleep(0.01)
            c.sendall(h[14:] + tcp_frame(build_query(BLOCKED, "A", id=0x302)))
            self.assertEqual(parse(tcp_read_message(c)).values("A"), [SOUTH_A])
        self.assertCounters(s, before, queries_tcp=9, queries_proxied=9, blocked=5,
                            tcp_connections=5, tcp_rejected_acl=0)

    def test_local_header_is_the_proxy_itself(self):
        # A health check's LOCAL: judged as the proxy's own address (the proxies group).
        s = self.server
        before = s.stats()
        r = parse(udp_via(s, PROXY_SRC, proxy_v2.local(), build_query(BLOCKED, "A")))
        self.assertEqual(r.values("A"), [PROXIES_A])
        replies = tcp_session(s, PROXY_SRC, proxy_v2.local(tcp=True),
                              [build_query(ALLOWED, "A", id=0x400)])
        self.assertEqual(replies[0x400].values("A"), ["192.0.2.1"])
        self.assertCounters(s, before, queries_proxied=2, queries_udp=1, queries_tcp=1,
                            blocked=1, upstream_queries=1)

    def test_header_from_untrusted_source_is_dropped(self):
        s = self.server
        before = s.stats()
        h = proxy_v2.header(("10.2.0.5", 5000), (s.addr, s.port))
        self.assertIsNone(udp_via(s, STRANGER_SRC, h, build_query(BLOCKED, "A")))
        th = proxy_v2.header(("10.2.0.5", 5000), (s.addr, s.port), tcp=True)
        self.assertIsNone(tcp_session(s, STRANGER_SRC, th, [build_query(BLOCKED, "A")]))
        # Without a header the stranger is itself, served as such.
        r = parse(udp_from(STRANGER_SRC, s.addr, s.port, build_query(BLOCKED, "A")))
        self.assertEqual(r.values("A"), [PROXIES_A])
        self.assertCounters(s, before, proxy_header_untrusted=2, queries_proxied=0,
                            queries_udp=1, queries_tcp=0, blocked=1)

    def test_trusted_source_without_header_is_dropped(self):
        s = self.server
        before = s.stats()
        self.assertIsNone(udp_from(PROXY_SRC, s.addr, s.port, build_query(ALLOWED, "A")))
        self.assertIsNone(tcp_session(s, PROXY_SRC, b"", [build_query(ALLOWED, "A")]))
        self.assertCounters(s, before, proxy_header_missing=2, queries_udp=0, queries_tcp=0,
                            upstream_queries=0)

    def test_malformed_headers_are_dropped_and_the_server_keeps_serving(self):
        s = self.server
        before = s.stats()
        good = proxy_v2.header(("10.2.0.5", 5000), (s.addr, s.port))
        payload = good[16:]
        bad = {
            "truncated": good[:22],
            "version 1": proxy_v2.raw(proxy_v2.PROXY, proxy_v2.INET, proxy_v2.DGRAM, payload,
                                      version=1),
            "command 2": proxy_v2.raw(2, proxy_v2.INET, proxy_v2.DGRAM, payload),
            "huge length": good[:14] + b"\xff\xff" + payload,
            "TLV past the end": proxy_v2.raw(proxy_v2.PROXY, proxy_v2.INET, proxy_v2.DGRAM,
                                             payload + b"\x04\x00\x40ab"),
            "short addresses": proxy_v2.raw(proxy_v2.PROXY, proxy_v2.INET6, proxy_v2.DGRAM,
                                            payload),
        }
        q = build_query(BLOCKED, "A")
        for what, h in bad.items():
            with self.subTest(what):
                # A datagram that ends inside its header (followed by a query, the header's
                # length would swallow the query's first bytes: that is a header, and the
                # rest a malformed query).
                rest = b"" if what == "truncated" else q
                self.assertIsNone(udp_via(s, PROXY_SRC, h, rest, timeout=0.5))
        # Over TCP: closed at once, before any query is read.
        for what in ("version 1", "huge length"):
            with self.subTest("tcp " + what):
                self.assertIsNone(tcp_session(s, PROXY_SRC, bad[what], [q]))
        # A header that never ends: closed by tcp_query_timeout (1 s here).
        with tcp_connect(s.addr, s.port, 3.0, src=PROXY_SRC) as c:
            c.sendall(good[:20])
            self.assertTrue(wait_closed(c, 10.0))
        self.assertCounters(s, before, proxy_header_malformed=len(bad) + 2, queries_udp=0,
                            queries_tcp=0, tcp_closed_query_timeout=1)
        # And the real clients behind the proxy are still served.
        r = parse(udp_via(s, PROXY_SRC, good, build_query(BLOCKED, "A")))
        self.assertEqual(r.values("A"), [NORTH_A])


class ProxyProtocolReloadTest(PolicyTestCase):
    """One server of its own: protected-user counts start from zero, and a reload changes
    the trust."""

    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def test_protected_users_count_real_clients_and_reload_changes_trust(self):
        s = self.start_policy_sinkholed([self.knot.upstream], POLICY, FILES, server=dict(SERVER))
        clients = [f"10.2.7.{i}" for i in range(1, 21)] + [f"2001:db8:3::{i:x}" for i in
                                                            range(1, 11)]
        for c in clients:
            h = proxy_v2.header((c, 5353), (s.addr, s.port))
            self.assertIsNotNone(udp_via(s, PROXY_SRC, h, build_query(BLOCKED, "A")), c)
        p = sinkholectl(s.control_socket, "stats", "--json")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        doc = json.loads(p.stdout)
        users = {u["category"]: (u["last_hour"], u["last_day"]) for u in doc["protected_users"]}
        # 30 subscribers behind one proxy address (the estimate is exact this small).
        self.assertEqual(users["gambling"], (30, 30))
        self.assertEqual(doc["counters"]["queries_proxied"], 30)

        # proxy_protocol_from applies on reload: emptied, the proxy's header is refused...
        before = s.stats()
        s.server["proxy_protocol_from"] = []
        s.rewrite()
        ok, text = s.reload()
        self.assertTrue(ok, text)
        self.assertNotIn("restart required", text)
        h = proxy_v2.header(("10.2.0.5", 5000), (s.addr, s.port))
        self.assertIsNone(udp_via(s, PROXY_SRC, h, build_query(BLOCKED, "A")))
        # ...and its own plain queries are its own.
        r = parse(udp_from(PROXY_SRC, s.addr, s.port, build_query(BLOCKED, "A")))
        self.assertEqual(r.values("A"), [PROXIES_A])
        self.assertCounters(s, before, proxy_header_untrusted=1, queries_proxied=0)
        # Trusted again.
        s.server["proxy_protocol_from"] = [f"{PROXY_SRC}/32"]
        s.rewrite()
        self.assertTrue(s.reload()[0])
        r = parse(udp_via(s, PROXY_SRC, h, build_query(BLOCKED, "A")))
        self.assertEqual(r.values("A"), [NORTH_A])

    def test_dnstap_shows_the_real_client(self):
        tmp = tempfile.mkdtemp(prefix="proxy-dnstap-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "tap.fstrm")
        s = self.start_policy_sinkholed([self.knot.upstream],
                                        POLICY + f'dnstap:\n  file: "{path}"\n', FILES,
                                        server=dict(SERVER))
        h = proxy_v2.header(("10.2.0.5", 5000), (s.addr, s.port))
        self.assertIsNotNone(udp_via(s, PROXY_SRC, h, build_query(BLOCKED, "A", id=0x601)))
        th = proxy_v2.header(("2001:db8:3::5", 6000), (s.addr, s.port), tcp=True)
        replies = tcp_session(s, PROXY_SRC, th, [build_query(BLOCKED, "A", id=0x602)])
        self.assertEqual(replies[0x602].values("A"), [SOUTH_A])
        s.stop()
        frames = decode(path)
        seen = sorted((f.type, f.id, f.query_address, f.query_port, f.protocol) for f in frames
                      if f.id in (0x601, 0x602))
        self.assertEqual(seen, [
            ("CLIENT_QUERY", 0x601, "10.2.0.5", 5000, "UDP"),
            ("CLIENT_QUERY", 0x602, "2001:db8:3::5", 6000, "TCP"),
            ("CLIENT_RESPONSE", 0x601, "10.2.0.5", 5000, "UDP"),
            ("CLIENT_RESPONSE", 0x602, "2001:db8:3::5", 6000, "TCP"),
        ], frames)
        self.assertFalse(any(f.query_address == PROXY_SRC for f in frames), frames)


# dnsdist 1.7.3 in front, for real. Finding (checked with a Python backend that printed
# what arrived, and asserted below against sinkholed's counters): with
# useProxyProtocol=true, dnsdist 1.7.3 puts a PROXY v2 header on its health checks too —
# a LOCAL command with no addresses (0d0a0d0a000d0a515549540a 20 00 0000: version 2,
# LOCAL, AF_UNSPEC, length 0), over UDP, for checkName (default a.root-servers.net. A),
# from the backend socket's own source address (`source=` in newServer). So a
# proxy_protocol_from that lists dnsdist's source serves its health checks as dnsdist's
# own address (the `proxies` group here): they need no exception, and none is dropped as
# missing a header. Clients' queries carry a PROXY command with their address, over UDP
# and at the start of each TCP connection to the backend.
DNSDIST_POLICY = POLICY.replace("[10.2.0.0/16, ", "[127.0.2.0/24, ").replace(
    "[10.3.0.0/16, ", "[127.0.3.0/24, ")


class DnsdistTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def start_dnsdist(self, backend, source, listen):
        conf = os.path.join(self.tmp, "dnsdist.conf")
        with open(conf, "w") as f:
            f.write(f'setLocal("{listen[0]}:{listen[1]}")\n'
                    'setACL({"127.0.0.0/8", "::1/128"})\n'
                    'setVerboseHealthChecks(true)\n'
                    f'newServer{{address="{backend[0]}:{backend[1]}", source="{source}", '
                    f'useProxyProtocol=true, checkName="{ALLOWED}", checkInterval=1}}\n')
        log = open(os.path.join(self.tmp, "dnsdist.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(["dnsdist", "--supervised", "--disable-syslog", "-C", conf],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.addCleanup(stop_process, proc)
        return proc

    def dnsdist_log(self):
        with open(os.path.join(self.tmp, "dnsdist.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def test_dnsdist_queries_and_health_checks_are_accepted(self):
        self.assertIsNotNone(shutil.which("dnsdist"), "dnsdist is not installed "
                             "(deploy/install-deps.sh)")
        self.tmp = tempfile.mkdtemp(prefix="proxy-dnsdist-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        dd = random_loopback()
        server = dict(SERVER, proxy_protocol_from=[f"{dd}/32"])
        s = self.start_policy_sinkholed([self.knot.upstream], DNSDIST_POLICY, FILES,
                                        server=server,
                                        log={"blocked_queries": True, "client_address": "full"})
        before = s.stats()
        port = free_port([dd])
        proc = self.start_dnsdist((s.addr, s.port), dd, (dd, port))
        # Its health checks (LOCAL headers) are answered: dnsdist marks the backend up.
        deadline = time.monotonic() + 20
        while "as 'up'" not in self.dnsdist_log() and time.monotonic() < deadline:
            self.assertIsNone(proc.poll(), self.dnsdist_log())
            time.sleep(0.2)
        self.assertIn("as 'up'", self.dnsdist_log())
        after = self.assertCountersAtLeast(s, before, queries_proxied=1, queries_udp=1)
        self.assertEqual(after["proxy_header_missing"] - before.get("proxy_header_missing", 0), 0)
        self.assertEqual(after["proxy_header_malformed"] - before.get("proxy_header_malformed", 0),
                         0)
        self.assertEqual(after["refused_acl"] - before.get("refused_acl", 0), 0)

        # Subscribers of two groups through dnsdist, over UDP and TCP.
        log_at = s.log_size()
        for src, want in (("127.0.2.5", NORTH_A), ("127.0.3.5", SOUTH_A)):
            for tcp in (False, True):
                with self.subTest(src=src, tcp=tcp):
                    q = build_query(BLOCKED, "A")
                    reply = (tcp_from if tcp else udp_from)(src, dd, port, q, 3.0)
                    self.assertIsNotNone(reply, "no answer through dnsdist")
                    r = parse(reply)
                    self.assertEqual((r.rcode, r.values("A")), (NOERROR, [want]))
        deadline = time.monotonic() + 3
        lines = []
        while len(lines) < 4 and time.monotonic() < deadline:
            lines = [l for l in s.log_since(log_at).splitlines() if "blocked name=" in l]
            time.sleep(0.05)
        clients = sorted(re.search(r"client=(\S+)", l).group(1) for l in lines)
        self.assertEqual(clients, ["127.0.2.5", "127.0.2.5", "127.0.3.5", "127.0.3.5"], lines)
        after = s.stats()
        self.assertEqual(after["proxy_header_missing"] - before.get("proxy_header_missing", 0), 0)
        self.assertEqual(after["proxy_header_untrusted"] - before.get("proxy_header_untrusted", 0),
                         0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
