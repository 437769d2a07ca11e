# SPDX-License-Identifier: MIT
"""Reload by the other two paths an operator uses, and what they see: `sinkholectl reload`
answers with the new generation (or why the reload failed, exit 1), `sinkholectl status`
shows the generation, the lists and the last failure (also as JSON), a list edited on disk
is picked up without any command (file watch, debounced), and a dead server gives a
one-line error and exit 2."""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402

CLIENT = "127.0.0.2"


class ControlTest(PolicyTestCase):
    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-ctl-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")

    def yaml(self, extra_block="", watch=True):
        return f"""\
control:
  socket: "{self.sock}"
  watch_files: {"true" if watch else "false"}
  watch_debounce: 200ms
lists:
  names: {{ path: names.txt, category: gambling }}
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block: [{{ list: names, action: nxdomain }}]{extra_block}
"""

    def ctl(self, *args):
        return sinkholectl(self.sock, *args)

    def start(self, watch=True):
        # Nothing listens on the discard port: names that are not blocked get a quick
        # SERVFAIL, which tells them apart from the NXDOMAIN of the block action.
        return self.start_policy_sinkholed(["127.0.0.1:9"], self.yaml(watch=watch),
                                           {"names.txt": "one.ctl.test\n"})

    def blocked(self, s, name):
        return s.ask(CLIENT, name, "A").rcode == NXDOMAIN

    def test_status_shows_generation_and_lists(self):
        s = self.start()
        p = self.ctl("status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("policy generation 1 (1 list(s), 1 entries, 1 policy)", p.stdout)
        self.assertRegex(p.stdout, r"list names\s+gambling\s+1 entries\s+0 rejected lines")
        j = self.ctl("status", "--json")
        self.assertEqual(j.returncode, 0, j.stderr)
        doc = json.loads(j.stdout)
        self.assertEqual(doc["generation"], 1)
        self.assertEqual(doc["lists"], [{"name": "names", "category": "gambling",
                                         "entries": 1, "rejected": 0}])
        self.assertIn("queries_udp", doc["counters"])
        s.stop()

    def test_reload_reports_new_generation_and_blocks_new_name(self):
        s = self.start()
        self.assertFalse(self.blocked(s, "two.ctl.test"))
        s.write_files({"names.txt": "one.ctl.test\ntwo.ctl.test\n"})
        p = self.ctl("reload")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^ok: generation \d+ in service: 1 list\(s\), 2 entries")
        self.assertTrue(self.blocked(s, "two.ctl.test"))
        s.stop()

    def test_failed_reload_exits_1_keeps_policy_and_shows_in_status(self):
        # No file watch here: the rewrite would also start a (failing) reload of its own,
        # and the failure count below is of `sinkholectl reload` alone.
        s = self.start(watch=False)
        s.rewrite(raw=s.config_text().replace("policies:", "policies: ["))
        p = self.ctl("reload")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^failed: .*sinkholed\.yaml:\d+:\d+: .*\(generation 1 still in service\)")
        self.assertTrue(self.blocked(s, "one.ctl.test"))
        st = self.ctl("status")
        self.assertIn("last reload FAILED (old policy still serving)", st.stdout)
        self.assertEqual(json.loads(self.ctl("status", "--json").stdout)["reload_failures"], 1)
        s.stop()

    def test_list_edited_on_disk_is_reloaded_by_the_watch(self):
        s = self.start()
        before = s.log_size()
        s.write_files({"names.txt": "one.ctl.test\nwatched.ctl.test\n"})  # temp + rename
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.blocked(s, "watched.ctl.test"):
            time.sleep(0.1)
        self.assertTrue(self.blocked(s, "watched.ctl.test"))
        self.assertIn("watch: configuration or list changed, reloading", s.log_since(before))
        s.stop()

    def test_unknown_command_and_dead_server(self):
        s = self.start()
        s.stop()
        p = self.ctl("status")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"sinkholectl: cannot reach sinkholed at {self.sock}", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1)


if __name__ == "__main__":
    unittest.main()
