# SPDX-License-Identifier: MIT
"""A feed's build starts from the snapshot serving, not from the files on disk (issue 14's
closing note: "a refused file list holds back a waiting feed copy until the next reload").
A real knotd primary feeds list mic (RPZ over AXFR/IXFR, TSIG); list casinos is a file.

1. The admin empties casinos.txt and reloads: the reload fails loudly (sinkholectl status,
   sinkholed_last_reload_ok 0, the list refusal counted) and the old casinos copy keeps
   blocking. A name added on the primary is blocked within 3 s (× the sanitizer factor) of
   the commit although the admin's file is still broken ("feed build: mic serial 2" in the
   log), casinos still blocks its old names, and the reload status still says FAILED.
2. The admin changes mic's action in the configuration without reloading: the next feed
   update does not apply that edit (a new name answers NXDOMAIN, not REFUSED).
3. The admin fixes the file and reloads: the reload succeeds (status, metric), and every
   change is in force: casinos' new name, the REFUSED action for mic's names.
Every wait polls the log, /metrics or answers; only names a list blocks are asked (the
upstream is a dead port that no query must reach)."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NXDOMAIN, REFUSED  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import free_tcp_port, scrape_metrics  # noqa: E402
from test_rpz_secondary import PrimaryKnot, rpz_list_yaml, sanitizer_factor  # noqa: E402

CLIENT = "127.0.0.2"
CASINOS = "bet.feedbuild.test\ncasino.feedbuild.test\n"


def policy(primary, metrics_port, mic_action="nxdomain"):
    return f"""\
control:
  watch_files: false
metrics:
  listen: "127.0.0.1:{metrics_port}"
lists:
  mic: {rpz_list_yaml(primary)}
  casinos: {{ path: casinos.txt, category: gambling }}
policies:
  - name: everyone
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: mic, action: {mic_action} }}, {{ list: casinos, action: nxdomain }}]
"""


class FeedBuildTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.factor = sanitizer_factor()
        cls.primary = PrimaryKnot.for_class(cls, ["old.example"])
        cls.where = cls.primary.where
        cls.mport = free_tcp_port("127.0.0.1")
        cls.s = PolicySinkholed(["127.0.0.1:9"], policy(cls.where, cls.mport),
                                {"feed.key": cls.primary.key_text, "casinos.txt": CASINOS})
        cls.addClassCleanup(cls.s.cleanup)
        cls.s.start(timeout=20)
        cls.wait_log(r"list mic: rpz serial 1 serving", 0, 20 * cls.factor)
        cls.primary.notify([(cls.s.addr, cls.s.port)])

    @classmethod
    def wait_log(cls, pattern, since, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, cls.s.log_since(since))
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError(f"no /{pattern}/ in the log within {timeout} s:\n"
                             f"{cls.s.log_since(since)[-3000:]}")

    def rcode(self, name):
        return self.s.ask(CLIENT, name, "A", timeout=5).rcode

    def metrics(self):
        return scrape_metrics(self.mport)

    def status(self):
        return sinkholectl(self.s.control_socket, "status")

    def feed_update(self, name, serial):
        """Adds `name` on the primary; returns the seconds from the commit to the new serial
        serving (the publication is logged right after the snapshot is in service)."""
        at = self.s.log_size()
        t_commit = self.primary.change(add=[name])
        self.wait_log(rf"list mic: rpz serial {serial} serving", at, 10 * self.factor)
        took = time.monotonic() - t_commit
        log = self.s.log_since(at)
        self.assertRegex(log, rf"feed build: mic serial {serial}: generation \d+ in service")
        self.assertNotRegex(log, r"reload: generation \d+ in service")
        return took, log

    def test_1_broken_file_list_does_not_hold_back_the_feed(self):
        s = self.s
        s.rewrite(files={"casinos.txt": ""})
        ok, log = s.reload()
        self.assertFalse(ok, log)
        self.assertRegex(log, r"list casinos \(.*refusing to publish")
        st = self.status()
        self.assertIn("last reload FAILED (old policy still serving)", st.stdout)
        text = self.metrics()
        self.assertIn("sinkholed_last_reload_ok 0\n", text)
        self.assertIn('sinkholed_list_reload_failures_total{list="casinos",reason="empty"} 1',
                      text)
        self.assertEqual(self.rcode("bet.feedbuild.test"), NXDOMAIN)

        took, log = self.feed_update("new.example", 2)
        limit = 3.0 * self.factor
        print(f"\nfeed build: a name added on knotd blocked {took:.3f} s after the commit "
              f"while the admin's file list is refused (limit {limit} s)", file=sys.stderr)
        self.assertLess(took, limit)
        self.assertEqual(self.rcode("new.example"), NXDOMAIN)
        self.assertEqual(self.rcode("old.example"), NXDOMAIN)
        self.assertEqual(self.rcode("bet.feedbuild.test"), NXDOMAIN)
        self.assertEqual(self.rcode("casino.feedbuild.test"), NXDOMAIN)
        # The feed's build did not touch the admin's reload status.
        text = self.metrics()
        self.assertIn("sinkholed_last_reload_ok 0\n", text)
        self.assertIn('sinkholed_list_reload_failures_total{list="casinos",reason="empty"} 1',
                      text)
        self.assertIn("last reload FAILED (old policy still serving)", self.status().stdout)

    def test_2_unreloaded_config_edit_does_not_ride_along(self):
        self.s.rewrite(policy_yaml=policy(self.where, self.mport, mic_action="refused"))
        took, log = self.feed_update("newer.example", 3)
        self.assertEqual(self.rcode("newer.example"), NXDOMAIN)  # not the edit's REFUSED
        self.assertEqual(self.rcode("new.example"), NXDOMAIN)
        self.assertEqual(self.rcode("bet.feedbuild.test"), NXDOMAIN)
        self.assertIn("sinkholed_last_reload_ok 0\n", self.metrics())

    def test_3_fixed_and_reloaded_everything_in_force(self):
        s = self.s
        s.rewrite(files={"casinos.txt": CASINOS + "more.feedbuild.test\n"})
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertIn("sinkholed_last_reload_ok 1\n", self.metrics())
        self.assertNotIn("FAILED", self.status().stdout)
        for name in ("old.example", "new.example", "newer.example"):
            self.assertEqual(self.rcode(name), REFUSED, name)  # the edited action
        for name in ("bet.feedbuild.test", "more.feedbuild.test"):
            self.assertEqual(self.rcode(name), NXDOMAIN, name)
        # And the feed goes on from the reloaded policy.
        self.feed_update("last.example", 4)
        self.assertEqual(self.rcode("last.example"), REFUSED)


if __name__ == "__main__":
    unittest.main()
