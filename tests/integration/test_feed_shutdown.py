# SPDX-License-Identifier: MIT
"""SIGTERM while a feed's fetch is in flight: an AXFR from a primary that never answers, one
that trickles its answer a byte at a time, and an HTTP download that trickles its body.
sinkholed cancels the transfer, joins the feed thread ("feed threads ended" in the log,
nothing left behind) and exits 0 within seconds, with no sanitizer report."""

import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port, random_loopback  # noqa: E402

ZONE = "slow.rpz"
# The exit comes within the feed manager's 3 s join bound plus the rest of the shutdown;
# generous for TSan on a loaded 2-core machine (a quiet run takes well under a second).
EXIT_WITHIN = 15.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer")


class SlowPeer:
    """A TCP server on loopback that reads the request (a DNS length-prefixed query, or an
    HTTP request up to its blank line) and then answers with `reply(conn)`: never, or a byte
    at a time. `requests` is set once a request has been read."""

    def __init__(self, reply):
        self.reply = reply
        self.addr = random_loopback()
        self.port = free_tcp_port(self.addr)
        self.requests = threading.Event()
        self.stopped = threading.Event()
        self.conns = []

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, self.port))
        self.sock.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        try:
            self.reply(self, conn)
        except OSError:
            pass

    def stop(self):
        self.stopped.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def read_dns_request(conn):
    n = struct.unpack("!H", conn.recv(2))[0]
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def axfr_silent(peer, conn):
    read_dns_request(conn)
    peer.requests.set()
    peer.stopped.wait()  # never a byte back


def axfr_trickle(peer, conn):
    q = read_dns_request(conn)
    peer.requests.set()
    # A 4 KB message announced, then its header echoing the ID, one byte every 0.2 s.
    message = q[:2] + bytes([0x84, 0x00]) + bytes(4096 - 4)
    for b in struct.pack("!H", len(message)) + message:
        conn.sendall(bytes([b]))
        if peer.stopped.wait(0.2):
            return


def http_trickle(peer, conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    peer.requests.set()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
    while not peer.stopped.wait(0.2):
        conn.sendall(b"a")


def rpz_policy(peer):
    return f"""\
lists:
  slow: {{ format: rpz, primary: ["{peer.addr}:{peer.port}"], zone: {ZONE}, category: law-violation }}
policies:
  - name: everyone
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: slow, action: nxdomain }}]
"""


def http_policy(peer):
    return f"""\
lists:
  slow: {{ url: "http://{peer.addr}:{peer.port}/list.txt", format: domains, category: law-violation }}
policies:
  - name: everyone
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: slow, action: nxdomain }}]
"""


class FeedShutdownTest(PolicyTestCase):
    def stop_while_in_flight(self, reply, policy):
        peer = SlowPeer(reply).start()
        self.addCleanup(peer.stop)
        # No query is sent: the dead upstream is never asked.
        s = self.start_policy_sinkholed(["127.0.0.1:9"], policy(peer))
        self.assertTrue(peer.requests.wait(20), f"no request reached the peer:\n"
                                                f"{s.log_text()[-3000:]}")
        code, took = s.signal_stop(signal.SIGTERM, timeout=EXIT_WITHIN + 10)
        log = s.log_text()
        s.forget_exited()
        print(f"\n{reply.__name__}: exit {code} in {took:.3f} s", file=sys.stderr)
        self.assertEqual(code, 0, log[-4000:])
        self.assertLess(took, EXIT_WITHIN, log[-4000:])
        # Joined (cancelled), not left running: the join bound was not reached.
        self.assertRegex(log, r"feed threads ended \(1 in \d+\.\d+ s\)")
        self.assertNotRegex(log, r"feed thread\(s\) still running")
        self.assertRegex(log, r"stopped")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)
        m = re.search(r"feed threads ended \(1 in (\d+\.\d+) s\)", log)
        print(f"{reply.__name__}: feed thread joined {m.group(1)} s after the feeds stopped",
              file=sys.stderr)

    def test_axfr_from_a_silent_primary(self):
        self.stop_while_in_flight(axfr_silent, rpz_policy)

    def test_axfr_trickled_a_byte_at_a_time(self):
        self.stop_while_in_flight(axfr_trickle, rpz_policy)

    def test_http_download_trickled(self):
        self.stop_while_in_flight(http_trickle, http_policy)


if __name__ == "__main__":
    unittest.main(verbosity=2)
