# SPDX-License-Identifier: MIT
"""Start-up order: sinkholed binds its sockets before it loads the lists, so a query sent
while a large list is still compiling waits in the socket buffer and gets the right answer
once the list is loaded, instead of an ICMP refusal that a stub only notices after its
timeout. A bad listen address still fails the start at once."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NXDOMAIN, build_query, parse  # noqa: E402
from processes import (  # noqa: E402
    free_port, random_loopback, sinkholed_binary, unused_port_upstream,
)

NAMES = 400_000  # enough that compiling takes a while even in a fast build


def udp_port_bound(addr, port):
    """Whether a UDP socket is bound to addr:port, read from /proc/net/udp. Never by
    binding one ourselves: that would hold the port for an instant, and sinkholed's own
    bind probe (one instance per address) would take it for another process's."""
    want = f"{socket.htonl(int.from_bytes(socket.inet_aton(addr), 'big')):08X}:{port:04X}"
    with open("/proc/net/udp") as f:
        next(f)
        return any(line.split()[1] == want for line in f)


class StartupTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-startup-")
        with open(os.path.join(self.dir, "big.txt"), "w") as f:
            for i in range(NAMES):
                f.write(f"site-{i}.startup.example\n")
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def config(self, addr, port):
        up_addr, up_port = unused_port_upstream()
        return f"""\
server:
  listen: ["{addr}:{port}"]
  workers: 1
  runtime_dir: "{self.dir}/run"
upstreams: ["{up_addr}:{up_port}"]
log:
  level: info
lists:
  big: {{ path: big.txt }}
policies:
  - {{ name: all, clients: ["0.0.0.0/0"], block: [{{ list: big, action: nxdomain }}] }}
"""

    def start(self, text):
        path = os.path.join(self.dir, "sinkholed.yaml")
        with open(path, "w") as f:
            f.write(text)
        self.log_path = os.path.join(self.dir, "stderr.log")
        log = open(self.log_path, "wb")
        self.addCleanup(log.close)
        self.proc = subprocess.Popen([sinkholed_binary(), "--config", path], stdout=log,
                                     stderr=log, stdin=subprocess.DEVNULL)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def test_query_sent_during_list_load_is_answered_after_it(self):
        addr = random_loopback()
        port = free_port([addr])
        self.start(self.config(addr, port))
        deadline = time.monotonic() + 30
        while not udp_port_bound(addr, port):
            self.assertIsNone(self.proc.poll(), self.log())
            self.assertLess(time.monotonic(), deadline, "port never bound")
            time.sleep(0.001)
        q = build_query("www.site-123456.startup.example", "A", id=0x5151)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(60)  # the sanitizer build compiles slowly
            c.sendto(q, (addr, port))
            sent_before_ready = "sinkholed ready" not in self.log()
            reply = parse(c.recv(4096))
        self.assertTrue(sent_before_ready, "the list loaded before the query was sent; "
                        "the test needs a larger list")
        self.assertEqual((reply.id, reply.rcode), (0x5151, NXDOMAIN))
        # The worker may answer a moment before the main thread logs that it is ready.
        deadline = time.monotonic() + 5
        while "sinkholed ready" not in self.log() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIn("sinkholed ready", self.log())

    def test_bad_listen_address_fails_at_once(self):
        # 192.0.2.1 is not an address of this machine: bind fails with EADDRNOTAVAIL.
        self.start(self.config("192.0.2.1", 53))
        code = self.proc.wait(10)
        self.assertEqual(code, 1)
        self.assertIn("cannot listen on 192.0.2.1:53", self.log())
        self.assertNotIn("policies:", self.log())  # failed before compiling any list


if __name__ == "__main__":
    unittest.main(verbosity=2)
