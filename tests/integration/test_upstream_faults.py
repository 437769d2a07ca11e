# SPDX-License-Identifier: MIT
"""Upstream faults and upstream hygiene: nothing listening, a black hole, replies with a
wrong ID or a wrong question (ignored and counted as spoofs), TC from the upstream
(retried over TCP), SERVFAIL/REFUSED from an upstream (next upstream, else passed on);
random source port and ID per query (pooled sockets: a port carries at most socket_reuse
queries); identical in-flight questions coalesced. The client
always gets the right answer or SERVFAIL in time, and the server keeps serving."""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    NOERROR, NXDOMAIN, REFUSED, SERVFAIL, build_query, parse, rcode_text,
)
from fakes import (  # noqa: E402
    BlackHole, FAKE_IP, FakeUpstream, answer_for, proxy_handler, rcode_handler, tc_handler,
    wrong_id_handler, wrong_question_handler,
)
from processes import (  # noqa: E402
    SinkholedTestCase, random_loopback, run_concurrently, unused_port_upstream,
)
from zones import MANY_A  # noqa: E402

EDE_NO_REACHABLE_AUTHORITY = 22


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


class UpstreamFaultsTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def assertServfail(self, r, q, edns):
        qm = parse(q)
        self.assertEqual(r.rcode, SERVFAIL, repr(r))
        self.assertEqual(r.id, qm.id)
        self.assertEqual(r.question_bytes, qm.question_bytes)
        self.assertEqual(r.answer, [])
        if edns:
            self.assertIsNotNone(r.opt, repr(r))
            self.assertIn(EDE_NO_REACHABLE_AUTHORITY, r.ede_codes(),
                          f"SERVFAIL without EDE 22: options {r.options}")
        else:
            self.assertIsNone(r.opt)

    def assertStillServing(self, server, knot_behind=False):
        r = server.udp(build_query("version.bind.", "TXT", "CH"), timeout=2)
        self.assertEqual(r.rcode, REFUSED)
        r = server.tcp(build_query("version.bind.", "TXT", "CH"), timeout=2)
        self.assertEqual(r.rcode, REFUSED)
        if knot_behind:
            r = server.udp(build_query("www.example.test.", "A"), timeout=3)
            self.assertEqual(r.values("A"), ["192.0.2.1"])

    # -- dead upstreams -------------------------------------------------------------------
    def test_nothing_listening_servfail_fast(self):
        addr, port = unused_port_upstream()
        s = self.start_sinkholed([f"{addr}:{port}"])
        before = s.stats()
        for i, edns in enumerate((True, None)):
            q = build_query(f"dead{i}.example.test.", "A", edns=edns)
            r, took = timed(lambda: s.udp(q, timeout=5))
            self.assertServfail(r, q, edns)
            self.assertLess(took, 1.0, "port unreachable should fail at once, not time out")
        q = build_query("dead-tcp.example.test.", "A", edns=True)
        r, took = timed(lambda: s.tcp(q, timeout=5))
        self.assertServfail(r, q, True)
        self.assertLess(took, 1.0)
        self.assertCounters(s, before, answers_servfail=3, upstream_all_failed=3)
        self.assertCountersAtLeast(s, before, upstream_errors=3)
        self.assertStillServing(s)

    def test_black_hole_servfail_within_2s(self):
        bh = self.start_fake(BlackHole())
        s = self.start_sinkholed([bh.upstream])
        before = s.stats()
        queries = [build_query("bh-edns.example.test.", "A", edns=True),
                   build_query("bh-plain.example.test.", "A")]
        results = run_concurrently([lambda q=q: timed(lambda: s.udp(q, timeout=6))
                                    for q in queries] +
                                   [lambda: timed(lambda: s.tcp(
                                       build_query("bh-tcp.example.test.", "A", id=7),
                                       timeout=6))])
        for (r, took), q, edns in zip(results, queries, (True, None)):
            self.assertServfail(r, q, edns)
            self.assertLess(took, 2.5, f"SERVFAIL after {took:.2f}s")
        r, took = results[2]
        self.assertEqual((r.rcode, r.id), (SERVFAIL, 7))
        self.assertLess(took, 2.5)
        for name in ("bh-edns.example.test.", "bh-plain.example.test.", "bh-tcp.example.test."):
            self.assertGreaterEqual(len(bh.queries(name)), 1, f"{name} never reached upstream")
        self.assertCounters(s, before, answers_servfail=3, upstream_all_failed=3)
        self.assertCountersAtLeast(s, before, upstream_timeouts=3)
        self.assertStillServing(s)

    def test_black_hole_then_good_upstream(self):
        bh = self.start_fake(BlackHole())
        s = self.start_sinkholed([bh.upstream, self.knot.upstream])
        before = s.stats()
        r, took = timed(lambda: s.udp(build_query("www.example.test.", "A"), timeout=5))
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))
        self.assertLess(took, 2.5)
        if bh.queries("www.example.test."):
            self.assertCountersAtLeast(s, before, upstream_timeouts=1)
        self.assertStillServing(s, knot_behind=True)

    def test_timeout_moves_to_next_upstream(self):
        bh1 = self.start_fake(BlackHole())
        bh2 = self.start_fake(BlackHole())
        s = self.start_sinkholed([bh1.upstream, bh2.upstream],
                                 upstream={"timeout": "500ms", "deadline": "2s"})
        q = build_query("next.example.test.", "A", edns=True)
        r, took = timed(lambda: s.udp(q, timeout=5))
        self.assertServfail(r, q, True)
        self.assertLess(took, 2.5)
        self.assertGreaterEqual(took, 0.9, "gave up before trying the second upstream")
        self.assertEqual((len(bh1.queries("next.example.test.")) >= 1,
                          len(bh2.queries("next.example.test.")) >= 1), (True, True),
                         "each upstream should be asked once its predecessor timed out")

    # -- spoofed replies ------------------------------------------------------------------
    def test_wrong_id_reply_ignored(self):
        # The upstream first sends a reply with a wrong ID (198.51.100.66), then the real
        # one: the client must get the real one.
        def handler(q, t):
            return wrong_id_handler(q, t) + [(0.1, answer_for(q))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        before = s.stats()
        r = s.udp(build_query("spoof-id.example.test.", "A", edns=True))
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, [FAKE_IP]))
        self.assertCounters(s, before, upstream_spoofed=1, upstream_queries=1)
        self.assertStillServing(s)

    def test_wrong_question_reply_ignored(self):
        def handler(q, t):
            return wrong_question_handler(q, t) + [(0.1, answer_for(q))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        before = s.stats()
        r = s.udp(build_query("spoof-q.example.test.", "A"))
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, [FAKE_IP]))
        self.assertEqual(r.questions[0][0], "spoof-q.example.test.")
        self.assertCounters(s, before, upstream_spoofed=1)

        # Same name, other type: also a wrong question.
        def other_type(q, t):
            name, qt, qc = parse(q).questions[0]
            wrong = (name, "AAAA" if qt == 1 else "A", qc)
            return [(0, answer_for(q, question=wrong)), (0.1, answer_for(q))]
        fake.handler = other_type
        before = s.stats()
        r = s.udp(build_query("spoof-type.example.test.", "A"))
        self.assertEqual(r.values("A"), [FAKE_IP])
        self.assertCounters(s, before, upstream_spoofed=1)
        self.assertStillServing(s)

    def test_reply_from_wrong_source_ignored(self):
        # Forged replies with the right ID and question reach the server's upstream port
        # from another address and from another port of the right address, before the
        # real reply: only the real one may be used.
        forgers = []
        for addr in (random_loopback(), None):
            f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(f.close)
            forgers.append((f, addr))

        def handler(q, t):
            src = fake.queries()[-1]
            forged = answer_for(q, ips=("198.51.100.99",))
            for sock, addr in forgers:
                if not sock.getsockname()[1]:
                    sock.bind((addr or fake.addr, 0))
                sock.sendto(forged, (src["addr"], src["port"]))
            return [(0.2, answer_for(q))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        r = s.udp(build_query("forged.example.test.", "A"))
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, [FAKE_IP]))

    def test_upstream_answering_in_other_case_accepted(self):
        # Names are case-insensitive: an upstream that changes the case of the question
        # is not a spoofer; the client still sees its own case.
        def handler(q, t):
            name, qt, qc = parse(q).questions[0]
            return [(0, answer_for(q, question=(name.swapcase(), qt, qc)))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        before = s.stats()
        q = build_query("CaSe.ExAmPlE.TeSt.", "A")
        r = s.udp(q)
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, [FAKE_IP]))
        self.assertEqual(r.question_bytes, parse(q).question_bytes)
        self.assertCounters(s, before, upstream_spoofed=0)

    def _spoofer_then_knot(self, handler, label):
        spoofer = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([spoofer.upstream, self.knot.upstream],
                                 upstream={"timeout": "500ms", "deadline": "2s"})
        before = s.stats()
        names = [f"{label}{i}.example.test." for i in range(5)] + ["www.example.test."]
        results = run_concurrently([lambda n=n: timed(lambda: s.udp(build_query(n, "A"),
                                                                    timeout=5))
                                    for n in names])
        for n, (r, took) in zip(names, results):
            self.assertLess(took, 2.5)
            if n == "www.example.test.":
                self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))
            else:
                # From knotd, never the spoofed 198.51.100.x.
                self.assertEqual(r.rcode, NXDOMAIN, repr(r))
                self.assertEqual(r.records("authority", "SOA")[0].name, "example.test.")
        seen = len(spoofer.queries())
        self.assertGreaterEqual(seen, 1, "the spoofing upstream was never asked")
        self.assertCountersAtLeast(s, before, upstream_spoofed=seen)
        self.assertStillServing(s, knot_behind=True)

    def test_wrong_id_upstream_then_good_upstream(self):
        self._spoofer_then_knot(wrong_id_handler, "wid")

    def test_wrong_question_upstream_then_good_upstream(self):
        self._spoofer_then_knot(wrong_question_handler, "wq")

    def test_only_spoofing_upstream_servfail_in_time(self):
        fake = self.start_fake(FakeUpstream(wrong_id_handler))
        s = self.start_sinkholed([fake.upstream])
        before = s.stats()
        q = build_query("only-spoof.example.test.", "A", edns=True)
        r, took = timed(lambda: s.udp(q, timeout=6))
        self.assertServfail(r, q, True)
        self.assertLess(took, 2.5)
        self.assertCountersAtLeast(s, before, upstream_spoofed=1)
        self.assertCounters(s, before, upstream_all_failed=1, answers_servfail=1)
        self.assertStillServing(s)

    def test_bad_response_not_passed_on(self):
        # Right source, ID and question, but the counts promise records that are absent
        # (patched by hand into dnspython's answer: dnspython will not write it).
        def handler(q, t):
            good = answer_for(q)
            broken = good[:6] + b"\x00\x05" + good[8:]  # ANCOUNT 5, one record present
            return [(0, broken)]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream, self.knot.upstream],
                                 upstream={"timeout": "500ms"})
        before = s.stats()
        r, took = timed(lambda: s.udp(build_query("www.example.test.", "A"), timeout=5))
        self.assertLess(took, 2.5)
        self.assertEqual((r.rcode, r.values("A")), (NOERROR, ["192.0.2.1"]))
        if fake.queries():
            self.assertCountersAtLeast(s, before, upstream_bad_responses=1)

    # -- upstream EDNS is not the client's ----------------------------------------------
    def test_upstream_without_edns(self):
        # An old upstream that never sends OPT: clients that sent EDNS still get our OPT,
        # clients that did not get none.
        def handler(q, t):
            return [(0, answer_for(q, ips=("192.0.2.9",), aa=False, edns=False))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        r = s.udp(build_query("old.example.test.", "A", edns=True))
        self.assertEqual(r.values("A"), ["192.0.2.9"])
        self.assertEqual((r.opt_count, r.edns_version, r.udp_size), (1, 0, 1232))
        r = s.udp(build_query("old2.example.test.", "A"))
        self.assertEqual(r.values("A"), ["192.0.2.9"])
        self.assertEqual(r.opt_count, 0)

    def test_upstream_options_not_passed_to_client(self):
        # The upstream's own OPT (payload, NSID, cookie, unknown option, flags) stays
        # between the server and the upstream.
        def handler(q, t):
            opt = {"payload": 4096, "do": parse(q).do, "flags": 0x1234,
                   "options": [(3, b"upstream-nsid"), (10, b"\x01" * 24), (65001, b"xyz")]}
            return [(0, answer_for(q, ips=("192.0.2.8",), aa=False, edns=opt))]
        fake = self.start_fake(FakeUpstream(handler))
        s = self.start_sinkholed([fake.upstream])
        r = s.udp(build_query("opts.example.test.", "A", edns=True))
        self.assertEqual(r.values("A"), ["192.0.2.8"])
        self.assertEqual(r.opt_count, 1)
        self.assertEqual((r.udp_size, r.edns_flags & 0x7FFF, r.options), (1232, 0, []))
        r = s.udp(build_query("opts2.example.test.", "A"))
        self.assertEqual((r.values("A"), r.opt_count), (["192.0.2.8"], 0))

    # -- upstream rcodes ------------------------------------------------------------------
    def test_servfail_and_refused_go_to_next_upstream(self):
        for rcode in (SERVFAIL, REFUSED):
            with self.subTest(rcode_text(rcode)):
                bad = self.start_fake(FakeUpstream(rcode_handler(rcode)))
                s = self.start_sinkholed([bad.upstream, self.knot.upstream])
                before = s.stats()
                names = ["www.example.test.", "mail.example.test.", "mail2.example.test."]
                results = run_concurrently([lambda n=n: s.udp(build_query(n, "A"))
                                            for n in names])
                self.assertEqual([r.values("A") for r in results],
                                 [["192.0.2.1"], ["192.0.2.25"], ["192.0.2.26"]])
                self.assertEqual([r.rcode for r in results], [NOERROR] * 3)
                seen = len(bad.queries())
                self.assertGreaterEqual(seen, 1, "the failing upstream was never asked")
                self.assertCountersAtLeast(s, before, upstream_rcode_failures=seen)
                s.stop()

    def test_servfail_and_refused_passed_on_when_last(self):
        for rcode in (SERVFAIL, REFUSED):
            with self.subTest(rcode_text(rcode)):
                bad = self.start_fake(FakeUpstream(rcode_handler(rcode)))
                s = self.start_sinkholed([bad.upstream])
                r, took = timed(lambda: s.udp(build_query("x.example.test.", "A"), timeout=5))
                self.assertEqual(r.rcode, rcode, repr(r))
                self.assertLess(took, 1.0)
                s.stop()

    # -- TC from the upstream -------------------------------------------------------------
    def test_tc_from_upstream_retried_over_tcp(self):
        ips = ("192.0.2.31", "192.0.2.32", "192.0.2.33")
        fake = self.start_fake(FakeUpstream(tc_handler(ips), tcp=True))
        s = self.start_sinkholed([fake.upstream])
        before = s.stats()
        for send in (s.udp, s.tcp):
            name = f"tc-{send.__name__}.example.test."
            r = send(build_query(name, "A", edns=True))
            self.assertEqual((r.rcode, r.tc), (NOERROR, False), repr(r))
            self.assertEqual(sorted(r.values("A")), sorted(ips))
            self.assertEqual([e["transport"] for e in fake.queries(name)], ["udp", "tcp"])
        self.assertCounters(s, before, upstream_tcp_retries=2)
        # Against knotd: the 90-record set is truncated at the upstream too (over the
        # server's 1232-byte EDNS payload), so it needs the TCP retry as well.
        s2 = self.start_sinkholed([self.knot.upstream])
        before = s2.stats()
        r = s2.tcp(build_query("many.example.test.", "A"))
        self.assertEqual(sorted(r.values("A")), sorted(MANY_A))
        self.assertCounters(s2, before, upstream_tcp_retries=1)

    # -- hygiene --------------------------------------------------------------------------
    def test_random_source_port_and_id(self):
        # socket_reuse 1: every query on a fresh socket, so a fresh random port.
        fake = self.start_fake(FakeUpstream())
        s = self.start_sinkholed([fake.upstream], upstream={"socket_reuse": 1})
        n = 24
        for i in range(n):
            r = s.udp(build_query(f"rnd{i}.example.test.", "A", id=i))
            self.assertEqual(r.id, i)
            self.assertEqual(r.values("A"), [FAKE_IP])
        seen = [fake.queries(f"rnd{i}.example.test.")[0] for i in range(n)]
        ports = [e["port"] for e in seen]
        ids = [e["id"] for e in seen]
        self.assertGreaterEqual(len(set(ports)), n - 4, f"source ports reused: {ports}")
        self.assertGreaterEqual(len(set(ids)), n - 1, f"IDs repeated: {ids}")
        self.assertLessEqual(sum(1 for i in range(n) if ids[i] == i), 1,
                             f"client IDs passed upstream: {ids}")
        steps = [(b - a) & 0xFFFF for a, b in zip(ids, ids[1:])]
        self.assertLess(max(steps.count(x) for x in set(steps)), 4, f"IDs look sequential: {ids}")
        psteps = [(b - a) & 0xFFFF for a, b in zip(ports, ports[1:])]
        self.assertLess(max(psteps.count(x) for x in set(psteps)), 4,
                        f"ports look sequential: {ports}")

    def test_pooled_sockets_carry_at_most_socket_reuse_queries(self):
        # The default pool: a port carries at most socket_reuse queries, queries spread over
        # several ports at once, and the IDs stay random.
        reuse = 4
        fake = self.start_fake(FakeUpstream())
        s = self.start_sinkholed([fake.upstream], upstream={"socket_reuse": reuse})
        before = s.stats()
        n = 40
        for i in range(n):
            r = s.udp(build_query(f"pool{i}.example.test.", "A", id=i))
            self.assertEqual((r.id, r.values("A")), (i, [FAKE_IP]))
        seen = [fake.queries(f"pool{i}.example.test.")[0] for i in range(n)]
        uses = {}
        for e in seen:
            uses[e["port"]] = uses.get(e["port"], 0) + 1
        # (The kernel may give a closed socket's port to a later one, rarely: once is allowed.)
        self.assertLessEqual(sum(1 for u in uses.values() if u > reuse), 1, f"uses: {uses}")
        self.assertLessEqual(max(uses.values()), 2 * reuse, f"uses per port: {uses}")
        self.assertGreaterEqual(len(uses), n // reuse)
        ids = [e["id"] for e in seen]
        self.assertGreaterEqual(len(set(ids)), n - 1, f"IDs repeated: {ids}")
        # Sockets are shared, not one per query.
        after = self.assertCountersAtLeast(s, before, upstream_queries=n)
        opened = after["upstream_sockets_opened"] - before.get("upstream_sockets_opened", 0)
        self.assertLessEqual(opened, n // reuse + 4)
        self.assertStillServing(s)

    def test_identical_questions_coalesce(self):
        fake = self.start_fake(FakeUpstream(lambda q, t: [(0.6, answer_for(q))]))
        s = self.start_sinkholed([fake.upstream], workers=1)
        before = s.stats()
        k = 5
        results = run_concurrently([lambda i=i: s.udp(build_query("coal.example.test.", "A",
                                                                  id=1000 + i), timeout=5)
                                    for i in range(k)])
        self.assertEqual(sorted(r.id for r in results), [1000 + i for i in range(k)])
        for r in results:
            self.assertEqual((r.rcode, r.values("A")), (NOERROR, [FAKE_IP]))
        self.assertEqual(len(fake.queries("coal.example.test.")), 1,
                         "identical in-flight questions must share one upstream query")
        self.assertCounters(s, before, upstream_coalesced=k - 1, upstream_queries=1,
                            queries_udp=k)

    def test_coalesced_clients_keep_their_own_case_and_id(self):
        fake = self.start_fake(FakeUpstream(lambda q, t: [(0.6, answer_for(q))]))
        s = self.start_sinkholed([fake.upstream], workers=1)
        names = ["case.example.test.", "CASE.EXAMPLE.TEST.", "cAsE.eXaMpLe.TeSt."]
        queries = [build_query(n, "A", id=2000 + i) for i, n in enumerate(names)]
        sends = [lambda q=q: s.udp(q, timeout=5) for q in queries[:2]] + \
                [lambda: s.tcp(queries[2], timeout=5)]
        results = run_concurrently(sends)
        for q, r in zip(queries, results):
            self.assertEqual(r.id, parse(q).id)
            self.assertEqual(r.question_bytes, parse(q).question_bytes)
            self.assertEqual(r.values("A"), [FAKE_IP])

    def test_do_and_no_do_not_mixed_up(self):
        # A slow path to knotd so that the DO=1 and DO=0 questions are in flight together.
        slow = self.start_fake(FakeUpstream(proxy_handler(self.knot.addr, self.knot.port, 0.5),
                                            tcp=True))
        s = self.start_sinkholed([slow.upstream], workers=1)
        q_do = build_query("www.signed.test.", "A", edns={"do": True}, id=1)
        q_nodo = build_query("www.signed.test.", "A", edns={"do": False}, id=2)
        q_plain = build_query("www.signed.test.", "A", id=3)
        r_do, r_nodo, r_plain = run_concurrently([lambda: s.udp(q_do, timeout=5),
                                                  lambda: s.udp(q_nodo, timeout=5),
                                                  lambda: s.udp(q_plain, timeout=5)])
        self.assertEqual([x.type_name for x in r_do.answer], ["A", "RRSIG"])
        self.assertEqual([x.type_name for x in r_nodo.answer], ["A"])
        self.assertEqual([x.type_name for x in r_plain.answer], ["A"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
