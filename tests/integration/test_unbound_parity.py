# SPDX-License-Identifier: MIT
"""Protocol edges answered as the real Unbound answers them (`/usr/sbin/unbound`, started on
loopback with a throwaway configuration that forwards to a port where nothing listens, so
nothing leaves the machine): the same packet is sent to both and the rcode, every header
flag and the echoed question must agree.

  - opcodes other than QUERY and NOTIFY (IQUERY, STATUS, UPDATE, 6, 15) with assorted flags:
    NOTIMP, the client's AA/RD/RA/Z/AD/CD echoed, QR set, no RA added;
  - meta qtypes (OPT, 128, TKEY, TSIG, MAILB, MAILA, 248): FORMERR, flags echoed the same
    way; sinkholed never forwards them (upstream_queries stays 0).
Known and documented differences, not compared: Unbound echoes the client's own OPT record
where sinkholed writes its own; a query with TC=1 is FORMERR in Unbound whatever its
opcode; qtype 0 is forwarded by Unbound and FORMERR here; NOTIFY is REFUSED by both from a
host that is not a configured primary, with each one's reply flags (sinkholed: QR+AA, as
RFC 1996 answers; test_rpz_secondary.py)."""

import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import udp_exchange  # noqa: E402
from processes import (  # noqa: E402
    SinkholedTestCase, free_port, random_loopback, stop_process, unused_port_upstream,
)

UNBOUND = "/usr/sbin/unbound"
QUESTION = b"\x07example\x04test\x00"


class Unbound:
    def __init__(self):
        self.addr = random_loopback()
        self.port = free_port([self.addr])
        self.dir = tempfile.mkdtemp(prefix="unbound-")
        dead_addr, dead_port = unused_port_upstream()
        with open(os.path.join(self.dir, "unbound.conf"), "w") as f:
            f.write(f"""server:
  interface: {self.addr}
  port: {self.port}
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "{self.dir}"
  pidfile: "{self.dir}/unbound.pid"
  logfile: "{self.dir}/unbound.log"
  use-syslog: no
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  auto-trust-anchor-file: ""
  trust-anchor-file: ""
forward-zone:
  name: "."
  forward-addr: {dead_addr}@{dead_port}
""")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", os.path.join(self.dir, "unbound.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        probe = struct.pack("!HHHHHH", 1, 0x0900, 1, 0, 0, 0) + QUESTION + b"\x00\x01\x00\x01"
        while udp_exchange(self.addr, self.port, probe, timeout=0.2) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("unbound did not start")

    def stop(self):
        if self.proc.poll() is None:
            stop_process(self.proc, signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


def packet(flags, qtype=1, qid=0x4D4D, opt=False):
    body = QUESTION + struct.pack("!HH", qtype, 1)
    if opt:
        body += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if opt else 0) + body


def header_and_question(reply):
    """(id, flags with rcode, qdcount, question bytes) of a reply."""
    qid, flags, qd = struct.unpack("!HHH", reply[:6])
    return qid, flags, qd, reply[12:12 + len(QUESTION) + 4] if qd else b""


class UnboundParityTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(UNBOUND, os.X_OK):
            raise AssertionError(f"{UNBOUND} is needed (deploy/install-deps.sh installs it)")
        cls.unbound = Unbound()
        cls.addClassCleanup(cls.unbound.stop)
        cls.knot = cls.class_knot()
        cls.server = cls.class_sinkholed([cls.knot.upstream])

    def compare(self, pkt):
        ours = self.server.udp_raw(pkt, timeout=2.0)
        theirs = udp_exchange(self.unbound.addr, self.unbound.port, pkt, timeout=2.0)
        self.assertIsNotNone(ours, f"sinkholed did not answer {pkt.hex()}")
        self.assertIsNotNone(theirs, f"unbound did not answer {pkt.hex()}")
        o, t = header_and_question(ours), header_and_question(theirs)
        self.assertEqual(o, t, f"sinkholed flags {o[1]:04x}, unbound {t[1]:04x} for {pkt.hex()}")
        return o

    # AA RD RA Z AD CD in a few combinations (no TC: see the module doc).
    FLAG_SETS = (0x0100, 0x0000, 0x0400 | 0x0100 | 0x0080 | 0x0020 | 0x0010, 0x0040, 0x0030)

    def test_unknown_opcodes(self):
        before = self.server.stats()
        n = 0
        for opcode in (1, 2, 5, 6, 15):
            for flags in self.FLAG_SETS:
                for opt in (False, True):
                    with self.subTest(opcode=opcode, flags=hex(flags), opt=opt):
                        _, got, _, _ = self.compare(packet(opcode << 11 | flags, opt=opt))
                        self.assertEqual(got & 0xF, 4)  # NOTIMP
                        n += 1
        self.assertCounters(self.server, before, malformed_opcode=n, upstream_queries=0)

    def test_meta_qtypes(self):
        before = self.server.stats()
        n = 0
        for qtype in (41, 128, 200, 248, 249, 250, 253, 254):
            for flags in self.FLAG_SETS:
                with self.subTest(qtype=qtype, flags=hex(flags)):
                    _, got, _, _ = self.compare(packet(flags, qtype=qtype, opt=qtype != 41))
                    self.assertEqual(got & 0xF, 1)  # FORMERR
                    n += 1
        self.assertCounters(self.server, before, malformed_meta_qtype=n, upstream_queries=0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
