# SPDX-License-Identifier: MIT
"""Complete answers in forward mode. The upstream is an authoritative server that does not
follow CNAMEs or DNAMEs out of a zone (a stub or internal zone; knotd does the same, see
test_forwarding.py) — a small Python server here, so that every zone lives on the one
upstream sinkholed forwards to and each question it is asked is recorded. sinkholed
follows the chain as a resolver does and returns it whole: CNAME/DNAME links through two
and three zones, NXDOMAIN at the end (RFC 6604), a loop and a chain over eight questions
(SERVFAIL), a link into a listed name (that block's answer), an RPZ `CNAME other.name.`
rule (the target's records). The same questions go to the real Unbound forwarding to the
same upstream: the answers (rcode, answer section) must agree."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, SERVFAIL, build_query, parse, udp_exchange  # noqa: E402
from fakes import FakeUpstream  # noqa: E402
from policy_harness import PolicySinkholed  # noqa: E402
from processes import SinkholedTestCase, free_port, random_loopback, stop_process  # noqa: E402

UNBOUND = "/usr/sbin/unbound"

# The zones of the fake authoritative upstream: apex → {owner: [(type, ttl, rdata)]}.
ZONES = {
    "a.test.": {
        "www.a.test.": [("CNAME", 600, "www.b.test.")],
        "c1.a.test.": [("CNAME", 600, "c2.b.test.")],
        "gone.a.test.": [("CNAME", 600, "missing.b.test.")],
        "loop.a.test.": [("CNAME", 600, "loop.b.test.")],
        "bad.a.test.": [("CNAME", 600, "ok.b.test.")],
        "n0.a.test.": [("CNAME", 600, "n1.b.test.")],
    },
    "b.test.": {
        "www.b.test.": [("A", 300, "192.0.2.20")],
        "c2.b.test.": [("CNAME", 300, "c3.c.test.")],
        "loop.b.test.": [("CNAME", 300, "loop.a.test.")],
        "ok.b.test.": [("CNAME", 300, "www.casino.blocked.test.")],
        **{f"n{i}.b.test.": [("CNAME", 300, f"n{i + 1}.b.test.")] for i in range(1, 12)},
    },
    "c.test.": {
        "c3.c.test.": [("A", 120, "192.0.2.30")],
    },
    "old.test.": {
        "old.test.": [("DNAME", 600, "new.test.")],
    },
    "new.test.": {
        "host.new.test.": [("A", 60, "192.0.2.40")],
    },
    "blocked.test.": {
        "www.casino.blocked.test.": [("A", 300, "192.0.2.66")],
    },
    "rpz-target.test.": {
        "www.rpz-target.test.": [("A", 300, "192.0.2.77")],
    },
}
# Authoritative for one zone per question: the chain continues in another zone, which
# this server holds too but does not look into (like an authoritative server, which
# follows a CNAME only inside the zone it answers from).


def zone_of(name):
    best = None
    for apex in ZONES:
        if name == apex or name.endswith("." + apex):
            if best is None or len(apex) > len(best):
                best = apex
    return best


def soa(apex):
    return dns.rrset.from_text(apex, 300, "IN", "SOA",
                               f"ns.{apex} hostmaster.{apex} 1 3600 600 86400 60")


def authoritative_handler(query, transport):
    q = dns.message.from_wire(query)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    name = q.question[0].name.to_text().lower()
    qtype = dns.rdatatype.to_text(q.question[0].rdtype)
    apex = zone_of(name)
    if apex is None:
        r.set_rcode(dns.rcode.REFUSED)
        return [(0, r.to_wire())]
    zone = ZONES[apex]
    # A DNAME at or above the name (below the apex or at it) rewrites it (RFC 6672).
    for owner, recs in zone.items():
        for t, ttl, data in recs:
            if t == "DNAME" and name.endswith("." + owner):
                r.answer.append(dns.rrset.from_text(owner, ttl, "IN", "DNAME", data))
                target = name[: -len(owner)] + data
                r.answer.append(dns.rrset.from_text(name, ttl, "IN", "CNAME", target))
                return [(0, r.to_wire())]
    if name not in zone:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(soa(apex))
        return [(0, r.to_wire())]
    recs = zone[name]
    matching = [x for x in recs if x[0] == qtype] or [x for x in recs if x[0] == "CNAME"]
    for t, ttl, data in matching:
        r.answer.append(dns.rrset.from_text(name, ttl, "IN", t, data))
    if not matching:
        r.authority.append(soa(apex))
    return [(0, r.to_wire())]


BLOCKED_TXT = "casino.blocked.test\n"
RPZ = """$TTL 300
@ SOA ns.rpz.test. hostmaster.rpz.test. 1 3600 600 86400 300
@ NS ns.rpz.test.
redir.example.test 90 CNAME www.rpz-target.test.
"""


def policy_yaml():
    return """\
lists:
  blocked: { path: blocked.txt, category: gambling }
  rpz: { path: policy.rpz, format: rpz, category: rpz }
actions:
  nx: { type: nxdomain, soa_ttl: 100 }
policies:
  - name: all
    clients: ["0.0.0.0/0", "::/0"]
    block:
      - { list: blocked, action: nx }
      - { list: rpz }
"""


def answer_rows(m):
    return [(r.name.lower(), r.type_name, r.value()) for r in m.answer]


class Unbound:
    """The real Unbound as a forwarder to the same upstream (iterator only, no DNSSEC)."""

    def __init__(self, upstream_addr, upstream_port):
        self.addr = random_loopback()
        self.port = free_port([self.addr])
        self.dir = tempfile.mkdtemp(prefix="unbound-")
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  interface: {self.addr}@{self.port}
  port: {self.port}
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "{self.dir}"
  pidfile: "{self.dir}/unbound.pid"
  use-syslog: no
  logfile: "{self.dir}/unbound.log"
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  do-not-query-localhost: no
  module-config: "iterator"
  qname-minimisation: no
  minimal-responses: yes
  msg-cache-size: 0
  rrset-cache-size: 0
  target-fetch-policy: "0 0 0 0 0"
  local-zone: "test." nodefault
forward-zone:
  name: "."
  forward-addr: {upstream_addr}@{upstream_port}
""")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if udp_exchange(self.addr, self.port, build_query("www.b.test.", "A"),
                            timeout=0.2) is not None:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("unbound did not start: " + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "unbound.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def ask(self, name, qtype="A"):
        reply = udp_exchange(self.addr, self.port, build_query(name, qtype), timeout=10)
        assert reply is not None, f"unbound did not answer {name}"
        return parse(reply)

    def stop(self):
        stop_process(self.proc, signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


class CnameChaseTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(UNBOUND, os.X_OK):
            raise RuntimeError(f"{UNBOUND} is missing (Debian package unbound)")
        cls.fake = cls.class_fake(FakeUpstream(authoritative_handler, tcp=True))
        cls.server = PolicySinkholed(
            [cls.fake.upstream], policy_yaml(),
            {"blocked.txt": BLOCKED_TXT, "policy.rpz": RPZ},
            cache={"max_bytes": 8 << 20})
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        cls.unbound = Unbound(cls.fake.addr, cls.fake.port)
        cls.addClassCleanup(cls.unbound.stop)

    def setUp(self):
        self.before = self.server.stats()
        self.seen_before = len(self.fake.seen)

    def asked_upstream(self):
        return [e["qname"].lower() for e in self.fake.seen[self.seen_before:]]

    def ask(self, name, qtype="A", tcp=False):
        return self.server.ask("127.0.0.1", name, qtype, tcp=tcp)

    def assertLikeUnbound(self, m, name, qtype="A"):
        ref = self.unbound.ask(name, qtype)
        self.assertEqual((m.rcode, answer_rows(m)), (ref.rcode, answer_rows(ref)),
                         f"sinkholed {m!r}\nunbound {ref!r}")

    def test_cname_into_another_zone(self):
        for tcp in (False, True):
            with self.subTest(tcp=tcp):
                m = self.ask("www.a.test", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [("www.a.test.", "CNAME", 600, "www.b.test."),
                                                 ("www.b.test.", "A", 300, "192.0.2.20")])
                self.assertEqual([r.type_name for r in m.answer], ["CNAME", "A"])
        # Asked once each: the second client got the cached chain.
        self.assertEqual(self.asked_upstream(), ["www.a.test.", "www.b.test."])
        self.assertCounters(self.server, self.before, cname_chased=1, cname_chase_failed=0)
        self.assertLikeUnbound(m, "www.a.test")

    def test_chain_through_three_zones(self):
        m = self.ask("c1.a.test")
        self.assertEqual(answer_rows(m), [("c1.a.test.", "CNAME", "c2.b.test."),
                                          ("c2.b.test.", "CNAME", "c3.c.test."),
                                          ("c3.c.test.", "A", "192.0.2.30")])
        self.assertEqual(self.asked_upstream(), ["c1.a.test.", "c2.b.test.", "c3.c.test."])
        self.assertLikeUnbound(m, "c1.a.test")

    def test_dname(self):
        m = self.ask("host.old.test")
        self.assertEqual(m.rcode, NOERROR, repr(m))
        self.assertEqual(answer_rows(m), [("old.test.", "DNAME", "new.test."),
                                          ("host.old.test.", "CNAME", "host.new.test."),
                                          ("host.new.test.", "A", "192.0.2.40")])
        self.assertLikeUnbound(m, "host.old.test")

    def test_nxdomain_at_the_end(self):
        m = self.ask("gone.a.test")
        self.assertEqual(m.rcode, NXDOMAIN, repr(m))
        self.assertEqual(answer_rows(m), [("gone.a.test.", "CNAME", "missing.b.test.")])
        self.assertEqual([r.name.lower() for r in m.records("authority", "SOA")], ["b.test."])
        self.assertLikeUnbound(m, "gone.a.test")

    def test_loop_and_long_chain_servfail(self):
        m = self.ask("loop.a.test")
        self.assertEqual(m.rcode, SERVFAIL, repr(m))
        self.assertEqual(self.asked_upstream(), ["loop.a.test.", "loop.b.test."])
        self.seen_before = len(self.fake.seen)
        m = self.ask("n0.a.test")
        self.assertEqual(m.rcode, SERVFAIL, repr(m))
        self.assertEqual(len(self.asked_upstream()), 9)  # the question and 8 links
        self.assertCounters(self.server, self.before, cname_chase_failed=2)
        for name in ("loop.a.test", "n0.a.test"):
            self.assertEqual(self.unbound.ask(name).rcode, SERVFAIL, name)

    def test_link_into_a_listed_name(self):
        m = self.ask("bad.a.test")
        self.assertEqual(m.rcode, NXDOMAIN, repr(m))
        self.assertEqual(m.answer, [])
        self.assertNotIn("www.casino.blocked.test.", self.asked_upstream())
        self.assertCounters(self.server, self.before, blocked_cname_chain=1)

    def test_rpz_cname_rule_resolves_its_target(self):
        for tcp in (False, True):
            with self.subTest(tcp=tcp):
                m = self.ask("redir.example.test", tcp=tcp)
                self.assertAnswerIs(m, NOERROR, [
                    ("redir.example.test.", "CNAME", 90, "www.rpz-target.test."),
                    ("www.rpz-target.test.", "A", 300, "192.0.2.77")])
        self.assertNotIn("redir.example.test.", self.asked_upstream())
        self.assertIn("www.rpz-target.test.", self.asked_upstream())


if __name__ == "__main__":
    unittest.main(verbosity=2)
