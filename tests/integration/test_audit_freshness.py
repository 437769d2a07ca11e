# SPDX-License-Identifier: MIT
"""Audit trail and freshness of file lists with the real sinkholed: a list file changed
and reloaded leaves one audit line (who: file, old → new mtime version, net entries added
and removed, counts "net"); a list added to the configuration leaves an "added" line, one
removed a "removed" line; a shrink the list guard refuses leaves a "refused" line with the
old version kept; `sinkholectl lists` (text and --json) shows each list's source, version,
last attempt, last success, last error and time to enforce; /metrics has
sinkholed_list_last_success_timestamp_seconds and sinkholed_list_time_to_enforce_seconds
with sane values."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_lists, sinkholectl  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import free_tcp_port, scrape_metrics, unused_port_upstream  # noqa: E402

CLIENT = "127.0.0.2"


def policy(metrics_port, audit_log, extra=""):
    # No file watch: each reload is the test's own SIGHUP (a watched edit would reload too).
    return f"""\
control:
  watch_files: false
metrics:
  listen: "127.0.0.1:{metrics_port}"
lists:
  mic: {{ path: mic.txt, category: regulator }}
{extra}policies:
  - {{ name: subscribers, clients: ["{CLIENT}/32"], block: [mic] }}
"""


class AuditFreshnessTest(PolicyTestCase):
    def setUp(self):
        self.metrics_port = free_tcp_port("127.0.0.1")
        upstream = "%s:%d" % unused_port_upstream()
        self.files = {"mic.txt": "a.audit.test\nb.audit.test\nc.audit.test\n",
                      "extra.txt": "x.audit.test\n"}
        self.s = self.start_policy_sinkholed([upstream], policy(self.metrics_port, ""),
                                             self.files)
        self.audit = os.path.join(self.s.dir, "state", "audit.log")

    def audit_lines(self):
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as f:
            return [json.loads(l) for l in f if l.strip()]

    def ctl(self, *args):
        p = sinkholectl(self.s.control_socket, *args)
        self.assertEqual(p.returncode, 0, f"sinkholectl {args}: {p.stdout}{p.stderr}")
        return p.stdout

    def metrics(self):
        return scrape_metrics(self.metrics_port)

    def test_a_changed_file_list_is_audited_and_its_freshness_shown(self):
        s = self.s
        started = time.time()
        self.assertEqual(self.audit_lines(), [])  # the start is no change
        time.sleep(1.1)  # another mtime second
        s.rewrite(files={"mic.txt": "a.audit.test\nb.audit.test\nc.audit.test\nd.audit.test\n"
                         "e.audit.test\n"})
        ok, out = s.reload()
        self.assertTrue(ok, out)
        self.assertEqual(s.ask(CLIENT, "e.audit.test").rcode, 3)
        lines = self.audit_lines()
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        self.assertEqual((line["list"], line["event"], line["who"], line["source"]),
                         ("mic", "installed", "file", "file"))
        self.assertEqual((line["added"], line["removed"], line["counts"], line["entries"]),
                         (2, 0, "net", 5))
        self.assertRegex(line["old_version"], r"^mtime \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotEqual(line["old_version"], line["new_version"])
        self.assertTrue(line["origin"].endswith("/mic.txt"))
        # sinkholectl lists: source, version, last attempt and success, time to enforce.
        text = self.ctl("lists")
        self.assertRegex(text, r"\n    source file \S+/mic\.txt, mtime \S+, last attempt \d+ s "
                               r"ago, last success \d+ s ago, time to enforce \d+\.\d{3} s\n")
        doc = ctl_lists(self.s.control_socket)
        mic = doc["mic"]
        self.assertEqual(mic["source"], "file")
        self.assertEqual(mic["version"], line["new_version"])
        self.assertEqual(mic["last_error"], "")
        self.assertGreaterEqual(mic["last_success_unix_ms"] / 1000, started - 1)
        self.assertLessEqual(mic["last_success_unix_ms"] / 1000, time.time() + 1)
        self.assertGreaterEqual(mic["time_to_enforce_s"], 0)
        self.assertLess(mic["time_to_enforce_s"], 30)
        # /metrics: the same figures.
        m = self.metrics()
        ts = [float(l.split()[-1]) for l in m.splitlines()
              if l.startswith('sinkholed_list_last_success_timestamp_seconds{list="mic"}')]
        self.assertEqual(len(ts), 1, m)
        self.assertAlmostEqual(ts[0], mic["last_success_unix_ms"] / 1000, delta=0.01)
        tte = [float(l.split()[-1]) for l in m.splitlines()
               if l.startswith('sinkholed_list_time_to_enforce_seconds{list="mic"}')]
        self.assertEqual(len(tte), 1, m)
        self.assertGreaterEqual(tte[0], 0)
        self.assertLess(tte[0], 30)
        self.assertIn("# TYPE sinkholed_list_serial gauge", m)

    def test_lists_added_removed_and_refused(self):
        s = self.s
        s.rewrite(policy(self.metrics_port, "", "  extra: { path: extra.txt }\n"))
        ok, out = s.reload()
        self.assertTrue(ok, out)
        s.rewrite(policy(self.metrics_port, ""))
        ok, out = s.reload()
        self.assertTrue(ok, out)
        # A shrink by more than half: refused, the old version keeps serving.
        s.rewrite(files={"mic.txt": "a.audit.test\n"})
        ok, out = s.reload()
        self.assertFalse(ok, out)
        self.assertEqual(s.ask(CLIENT, "c.audit.test").rcode, 3)
        events = [(l["list"], l["event"]) for l in self.audit_lines()]
        self.assertEqual(events, [("extra", "added"), ("extra", "removed"), ("mic", "refused")],
                         self.audit_lines())
        refused = self.audit_lines()[2]
        self.assertEqual(refused["who"], "file")
        self.assertEqual(refused["entries"], 3)
        self.assertIn("refusing to publish", refused["reason"])
        self.assertRegex(refused["old_version"], r"^mtime ")
        doc = ctl_lists(self.s.control_socket)
        self.assertIn("refusing to publish", doc["mic"]["last_error"])
        self.assertEqual(doc["mic"]["state"], "refused")
        self.assertIn(", refused, last error: ", self.ctl("lists"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
