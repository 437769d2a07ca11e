# SPDX-License-Identifier: MIT
"""The packet cache in the pipeline: a repeated question is answered without the upstream,
with its TTLs aged and the client's own ID and question case; negative answers are cached
with their SOA; policy runs before the cache, so a reload that blocks a cached name blocks
it at once; when every upstream is down, a recently expired answer is served stale
(RFC 8767, TTL 30) instead of SERVFAIL."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, SERVFAIL  # noqa: E402
from fakes import RecordingProxy  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"


def zones():
    return {"cache.test": soa_zone_text("cache.test", [
        "www 300 IN A 192.0.2.10",
        "short 2 IN A 192.0.2.11",
        "gone 300 IN A 192.0.2.12",
    ], minimum=60)}


POLICY = """\
lists:
  names: { path: names.txt }
policies:
  - { name: everyone, clients: ["0.0.0.0/0", "::/0"], block: [{ list: names, action: nxdomain }] }
"""


class CacheTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def start(self):
        self.proxy = self.start_fake(RecordingProxy(self.knot))
        return self.start_policy_sinkholed(
            [self.proxy.upstream], POLICY,
            # A name no test asks for: an empty list would fail the start (list guard).
            {"names.txt": "# nothing the tests ask for yet\nunused.cache.test\n"},
            cache={"max_bytes": "4MiB", "serve_stale": "1d"})

    def upstream_asks(self, qname):
        return [e for e in self.proxy.seen if (e["qname"] or "").lower() == qname.lower()]

    def test_repeat_is_answered_from_cache_with_aged_ttl_and_client_case(self):
        s = self.start()
        before = s.stats()
        first = s.ask(CLIENT, "www.cache.test", "A")
        self.assertEqual(first.rcode, NOERROR)
        self.assertEqual(first.answer[0].ttl, 300)
        time.sleep(1.2)
        second = s.ask(CLIENT, "WwW.CaChE.tEsT", "A")
        self.assertEqual(second.questions[0][0], "WwW.CaChE.tEsT.")
        self.assertEqual([a.value() for a in second.answer], ["192.0.2.10"])
        self.assertLess(second.answer[0].ttl, 300)
        self.assertGreaterEqual(second.answer[0].ttl, 297)
        self.assertEqual(len(self.upstream_asks("www.cache.test.")), 1)
        self.assertCounters(s, before, cache_hits=1, cache_misses=1, upstream_queries=1)
        s.stop()

    def test_negative_answer_is_cached_with_its_soa(self):
        s = self.start()
        for _ in range(3):
            m = s.ask(CLIENT, "missing.cache.test", "A")
            self.assertEqual(m.rcode, NXDOMAIN)
            self.assertEqual(m.authority[0].type_name, "SOA")
            self.assertLessEqual(m.authority[0].ttl, 60)  # min(SOA TTL, MINIMUM)
        self.assertEqual(len(self.upstream_asks("missing.cache.test.")), 1)
        s.stop()

    def test_reload_that_blocks_a_cached_name_blocks_it_at_once(self):
        s = self.start()
        self.assertEqual(s.ask(CLIENT, "gone.cache.test", "A").rcode, NOERROR)
        self.assertEqual(s.ask(CLIENT, "gone.cache.test", "A").rcode, NOERROR)  # cached
        s.rewrite(files={"names.txt": "gone.cache.test\n"})
        ok, _ = s.reload()
        self.assertTrue(ok)
        self.assertEqual(s.ask(CLIENT, "gone.cache.test", "A").rcode, NXDOMAIN)
        s.stop()

    def test_stale_answer_when_every_upstream_is_down(self):
        s = self.start()
        self.assertEqual(s.ask(CLIENT, "short.cache.test", "A").answer[0].ttl, 2)
        self.proxy.stop()  # the only upstream is gone
        time.sleep(2.5)    # the cached answer has expired
        before = s.stats()
        m = s.ask(CLIENT, "short.cache.test", "A", timeout=4.0)
        self.assertEqual(m.rcode, NOERROR)
        self.assertEqual([(a.value(), a.ttl) for a in m.answer], [("192.0.2.11", 30)])
        self.assertCounters(s, before, cache_stale_answers=1, cache_misses=1)
        # A name never cached still gets SERVFAIL.
        self.assertEqual(s.ask(CLIENT, "www.cache.test", "A", timeout=4.0).rcode, SERVFAIL)
        s.stop()


if __name__ == "__main__":
    unittest.main()
