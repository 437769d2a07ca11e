# SPDX-License-Identifier: MIT
"""UDP queries are read with recvmmsg and synchronous answers leave with one sendmmsg per
batch: a burst from several client sockets, answered from the cache, a policy block and a
meta refusal in the same batches, gets every answer back to its own socket with its own ID
and question case; a datagram larger than any query is dropped and counted."""

import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, REFUSED, build_query, mixed_case, parse  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402

POLICY = """\
lists:
  names: { path: names.txt }
policies:
  - { name: everyone, clients: ["0.0.0.0/0", "::/0"], block: [{ list: names, action: nxdomain }] }
"""


class UdpBatchingTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def start(self):
        return self.start_policy_sinkholed(
            [self.knot.upstream], POLICY, {"names.txt": "blocked.example.test\n"},
            cache={"max_bytes": "4MiB"})

    def test_burst_from_many_sockets_each_gets_its_own_answers(self):
        s = self.start()
        self.assertEqual(s.udp(build_query("www.example.test", "A")).values("A"), ["192.0.2.1"])
        rng = random.Random(6)
        kinds = {
            "cached": ("www.example.test", "A", "IN"),
            "blocked": ("x.blocked.example.test", "A", "IN"),
            "chaos": ("version.bind", "TXT", "CH"),
        }
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        try:
            for sk in socks:
                sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                sk.bind(("127.0.0.1", 0))
                sk.settimeout(3.0)
            sent = {}  # (socket index, id) -> (kind, qname as sent)
            packets = []
            qid = 1
            for _ in range(50):
                for i in range(len(socks)):
                    kind = rng.choice(sorted(kinds))
                    name, qtype, qclass = kinds[kind]
                    asked = mixed_case(name, rng)
                    packets.append((i, build_query(asked, qtype, qclass, id=qid)))
                    sent[(i, qid)] = (kind, asked.rstrip(".") + ".")
                    qid += 1
            # Back to back, so that the server reads them in batches of many clients.
            for i, p in packets:
                socks[i].sendto(p, (s.addr, s.port))
            got = {}
            for i, sk in enumerate(socks):
                want = sum(1 for (j, _) in sent if j == i)
                while sum(1 for (j, _) in got if j == i) < want:
                    r = parse(sk.recv(4096))
                    self.assertIn((i, r.id), sent, f"socket {i} got an answer for id {r.id}")
                    self.assertNotIn((i, r.id), got, f"id {r.id} answered twice")
                    got[(i, r.id)] = r
            for key, (kind, asked) in sent.items():
                r = got[key]
                self.assertEqual(r.questions[0][0], asked, f"{kind} {key}")
                if kind == "cached":
                    self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))
                elif kind == "blocked":
                    self.assertEqual(r.rcode, NXDOMAIN)
                else:
                    self.assertEqual(r.rcode, REFUSED)
        finally:
            for sk in socks:
                sk.close()

    def test_oversize_datagram_dropped_and_counted(self):
        s = self.start()
        before = s.stats()
        big = build_query("www.example.test", "A", id=0x4242) + bytes(5000)
        self.assertIsNone(s.udp_raw(big, timeout=0.5))
        self.assertCounters(s, before, dropped_oversize=1, answers_noerror=0)
        self.assertEqual(s.udp(build_query("www.example.test", "A")).values("A"), ["192.0.2.1"])
        time.sleep(0.1)
        self.assertTrue(s.running())


if __name__ == "__main__":
    unittest.main(verbosity=2)
