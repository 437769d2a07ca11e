# SPDX-License-Identifier: MIT
"""Honest reloads: every live setting applies at a reload without a restart, and a setting
that needs a restart is named. The real sinkholed and a real knotd upstream: upstreams
switched from a dead address to knotd (answers arrive) and back (SERVFAIL again);
cache.max_ttl lowered clamps what is cached next; log.blocked_queries turned on logs
blocked queries; allow_query changed refuses, then admits, a client over UDP and TCP;
rate_limit turned on limits a burst; a listen change is reported as `restart required:
server.listen` by the reload reply, `sinkholectl status` (text and --json, exit 1) and
/metrics, while the old listen address keeps answering, and stays pending across a later
reload until the file agrees again; a reload whose settings part is invalid applies
nothing."""

import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NOERROR, NXDOMAIN, REFUSED, SERVFAIL, build_query, parse  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import free_port, free_tcp_port, random_loopback  # noqa: E402
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"
DEAD = "127.0.0.1:9"  # nothing listens on discard: a quick SERVFAIL


def zones():
    return {"live.test": soa_zone_text("live.test", [
        "www 300 IN A 192.0.2.20",
        "a 300 IN A 192.0.2.21",
        "b 300 IN A 192.0.2.22",
        "blocked 300 IN A 192.0.2.23",
    ], minimum=60)}


class LiveSinkholed(PolicySinkholed):
    """PolicySinkholed whose listen list can grow (`extra_listen`) in a rewritten config."""

    extra_listen = ()

    def listen_strings(self):
        return super().listen_strings() + list(self.extra_listen)


class LiveReloadTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-live-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")
        self.metrics_port = free_tcp_port()
        self.rate_limit = ""

    def policy(self):
        return f"""\
control:
  socket: "{self.sock}"
  watch_files: false
metrics:
  listen: 127.0.0.1:{self.metrics_port}
{self.rate_limit}lists:
  names: {{ path: names.txt }}
policies:
  - {{ name: everyone, clients: ["0.0.0.0/0", "::/0"], block: [{{ list: names, action: nxdomain }}] }}
"""

    def start(self, upstreams, **kw):
        s = LiveSinkholed(upstreams, self.policy(), {"names.txt": "blocked.live.test\n"}, **kw)
        self.addCleanup(s.cleanup)
        return s.start()

    def reload(self, s):
        """Rewrites the config from `s`'s current values, then `sinkholectl reload`."""
        s.rewrite(policy_yaml=self.policy())
        return sinkholectl(self.sock, "reload")

    def reload_ok(self, s):
        p = self.reload(s)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^ok: generation \d+ in service")
        return p.stdout

    def scrape(self):
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def test_upstreams_switch_from_dead_to_live_and_back(self):
        s = self.start([DEAD])
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A", timeout=4).rcode, SERVFAIL)
        s.upstreams = [self.knot.upstream]
        before = s.log_size()
        out = self.reload_ok(s)
        self.assertNotIn("restart required", out)
        self.assertIn("reload: applied upstreams", s.log_since(before))
        m = s.ask(CLIENT, "www.live.test", "A", timeout=4)
        self.assertEqual(m.rcode, NOERROR)
        self.assertEqual(m.values("A"), ["192.0.2.20"])
        # The new upstream is labelled in /metrics (the dead one keeps its row).
        metrics = self.scrape()
        self.assertIn(f'sinkholed_upstream_attempts_total{{upstream="{self.knot.upstream}"}} ',
                      metrics)
        self.assertIn('sinkholed_upstream_attempts_total{upstream="127.0.0.1:9"} ', metrics)
        s.upstreams = [DEAD]
        self.reload_ok(s)
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A", timeout=4).rcode, SERVFAIL)
        s.stop()

    def test_cache_max_ttl_lowered_takes_effect(self):
        s = self.start([self.knot.upstream], cache={"max_bytes": "4MiB", "max_ttl": "1h"})
        s.ask(CLIENT, "a.live.test", "A")
        cached = s.ask(CLIENT, "a.live.test", "A")
        self.assertGreater(cached.answer[0].ttl, 250)
        s.cache_opts["max_ttl"] = "60s"
        before = s.log_size()
        self.reload_ok(s)
        self.assertIn("cache.max_ttl", s.log_since(before))
        s.ask(CLIENT, "b.live.test", "A")
        cached = s.ask(CLIENT, "b.live.test", "A")
        self.assertEqual(cached.values("A"), ["192.0.2.22"])
        self.assertLessEqual(cached.answer[0].ttl, 60)
        # max_bytes 0 turns the cache off at once: every question goes upstream.
        s.cache_opts["max_bytes"] = 0
        self.reload_ok(s)
        before = s.stats()
        s.ask(CLIENT, "b.live.test", "A")
        s.ask(CLIENT, "b.live.test", "A")
        self.assertCounters(s, before, upstream_queries=2, cache_hits=0)
        s.stop()

    def test_blocked_query_log_turned_on(self):
        s = self.start([self.knot.upstream])
        before = s.log_size()
        self.assertEqual(s.ask(CLIENT, "blocked.live.test", "A").rcode, NXDOMAIN)
        time.sleep(0.5)
        self.assertNotIn("blocked name=", s.log_since(before))
        s.log_opts["blocked_queries"] = True
        self.reload_ok(s)
        before = s.log_size()
        self.assertEqual(s.ask(CLIENT, "blocked.live.test", "A").rcode, NXDOMAIN)
        deadline = time.monotonic() + 5
        while "blocked name=" not in s.log_since(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("blocked name=blocked.live.test. qtype=A policy=everyone list=names", s.log_since(before))
        s.stop()

    def test_allow_query_refuses_then_admits_a_client(self):
        s = self.start([self.knot.upstream])
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A").rcode, NOERROR)
        s.server["allow_query"] = ["10.0.0.0/8"]
        self.reload_ok(s)
        m = s.ask(CLIENT, "www.live.test", "A")
        self.assertEqual(m.rcode, REFUSED)
        self.assertIsNone(s.raw_from(CLIENT, build_query("www.live.test", "A"), tcp=True))
        del s.server["allow_query"]  # back to the default, loopback included
        self.reload_ok(s)
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A").rcode, NOERROR)
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A", tcp=True).rcode, NOERROR)
        s.stop()

    def burst(self, s, n):
        """`n` queries for a blocked name (answered locally) sent at once from CLIENT over
        UDP; how many got an answer within a second."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sk:
            sk.bind((CLIENT, 0))
            for i in range(n):
                sk.sendto(build_query("blocked.live.test", "A", id=i + 1), (s.addr, s.port))
            got = 0
            sk.settimeout(1.0)
            try:
                while True:
                    if parse(sk.recv(4096)).rcode == NXDOMAIN:
                        got += 1
            except socket.timeout:
                pass
            return got

    def test_rate_limit_turned_on_limits(self):
        s = self.start([self.knot.upstream])
        self.assertEqual(self.burst(s, 40), 40)
        self.rate_limit = "rate_limit:\n  responses_per_second: 5\n  burst: 5\n  slip: 0\n"
        out = self.reload_ok(s)
        self.assertNotIn("restart required", out)
        before = s.stats()
        got = self.burst(s, 40)
        # 5 of burst, plus at most 5 per second of refill while the burst is read.
        self.assertLessEqual(got, 15)
        self.assertGreaterEqual(got, 1)
        self.assertCountersAtLeast(s, before, rate_limited_dropped=25)
        s.stop()

    def test_listen_change_needs_a_restart_and_is_named(self):
        s = self.start([self.knot.upstream])
        other = random_loopback()
        s.extra_listen = [f"{other}:{free_port([other])}"]
        before = s.log_size()
        p = self.reload(s)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout,
                         r"^ok: generation \d+ in service: .*; restart required: server\.listen\n$")
        self.assertIn("restart required to apply server.listen", s.log_since(before))
        # The old listen address keeps answering.
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A").rcode, NOERROR)
        st = sinkholectl(self.sock, "status")
        self.assertEqual(st.returncode, 1, st.stdout + st.stderr)
        self.assertIn("restart required: server.listen", st.stdout)
        js = sinkholectl(self.sock, "status", "--json")
        self.assertEqual(js.returncode, 1, js.stdout + js.stderr)
        self.assertEqual(json.loads(js.stdout)["restart_required"], ["server.listen"])
        metrics = self.scrape()
        self.assertIn("\nsinkholed_restart_required 1\n", metrics)
        self.assertIn('sinkholed_restart_required_keys{key="server.listen"} 1', metrics)
        # Another reload (a live change too) leaves it pending: the process still does not
        # listen where the file says.
        s.upstreams = [self.knot.upstream, DEAD]
        p = self.reload(s)
        self.assertIn("restart required: server.listen", p.stdout)
        self.assertEqual(sinkholectl(self.sock, "status").returncode, 1)
        # The file agrees with the process again: nothing pending.
        s.extra_listen = ()
        p = self.reload(s)
        self.assertNotIn("restart required", p.stdout)
        st = sinkholectl(self.sock, "status")
        self.assertEqual(st.returncode, 0, st.stdout + st.stderr)
        self.assertNotIn("restart required", st.stdout)
        self.assertIn("\nsinkholed_restart_required 0\n", self.scrape())
        s.stop()

    def test_invalid_settings_apply_nothing(self):
        s = self.start([self.knot.upstream])
        s.upstreams = [DEAD]
        s.cache_opts["max_ttl"] = "soon"
        p = self.reload(s)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("max_ttl", p.stdout + p.stderr)
        # The old upstream still serves.
        self.assertEqual(s.ask(CLIENT, "www.live.test", "A", timeout=4).rcode, NOERROR)
        s.stop()


if __name__ == "__main__":
    unittest.main()
