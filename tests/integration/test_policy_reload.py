# SPDX-License-Identifier: MIT
"""Hot reload (SIGHUP): a reload that adds a name blocks it, one that removes a name
unblocks it, actions and client groups change too; the log says `reload: generation N in
service` and the counters `reloads` and `snapshot_generation` move. A failing reload —
broken YAML, a missing list file, an unknown action, a config that `--check` rejects —
keeps the old policy serving, logs `reload failed: file:line:col: message` and `reload
failed: keeping generation N in service`, and bumps `reload_failures`; a later good reload
recovers. Queries keep being answered, correctly, while the server reloads real lists
again and again (zero timeouts)."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, REFUSED, build_query, parse  # noqa: E402
from policy_harness import PolicyTestCase, blocklist_path, list_names  # noqa: E402
from processes import sinkholed_binary  # noqa: E402
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"
OTHER = "127.0.0.3"

NAMES_V1 = "# reload test list\nfirst.reload.test\n"
NAMES_V2 = "# reload test list\nfirst.reload.test\nsecond.reload.test\n"
NAMES_V3 = "# reload test list\nsecond.reload.test\n"


def zones():
    return {"reload.test": soa_zone_text("reload.test", [
        "first 600 IN A 192.0.2.1",
        "second 600 IN A 192.0.2.2",
        "www 600 IN A 192.0.2.3",
    ])}


def policy_yaml(action="nx", clients=(CLIENT,), list_path="names.txt", extra=""):
    cl = ", ".join(f'"{c}/32"' for c in clients)
    return f"""\
lists:
  names: {{ path: {list_path}, category: test }}
actions:
  nx: {{ type: nxdomain, soa_ttl: 60, ede_text: "list {{list}} line {{line}}" }}
  warn: {{ type: sinkhole, a: 203.0.113.10, ttl: 30 }}
policies:
  - name: subscribers
    clients: [{cl}]
    block: [{{ list: names, action: {action} }}]
{extra}"""


class ReloadTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def start(self, names=NAMES_V1, **kw):
        s = self.start_policy_sinkholed([self.knot.upstream], policy_yaml(**kw),
                                        {"names.txt": names})
        self.assertIn("policies:", s.log_text())
        return s

    def assertBlocked(self, s, name, src=CLIENT, line=None, owner=None):
        m = s.ask(src, name, "A", edns=True)
        self.assertAnswerIs(m, NXDOMAIN, [])
        self.assertSynthSoa(m, owner or name, 60)
        if line is not None:
            self.assertEde(m, 15, f"list names line {line}")
        return m

    def assertServed(self, s, name, a, src=CLIENT):
        m = s.ask(src, name, "A", edns=True)
        self.assertAnswerIs(m, NOERROR, [(name + ".", "A", 600, a)])
        self.assertNoEde(m)
        return m

    def assertReloadFailed(self, s, before, want_in_log):
        ok, log = s.reload()
        self.assertFalse(ok, f"the reload must fail:\n{log}")
        self.assertRegex(log, r"reload failed: keeping generation \d+ in service", log)
        for w in want_in_log:
            self.assertRegex(log, w, log)
        self.assertCounters(s, before, reloads=0, reload_failures=1, snapshot_generation=0)
        return log

    # -- good reloads -------------------------------------------------------------------
    def test_reload_that_adds_a_name_blocks_it(self):
        s = self.start()
        self.assertBlocked(s, "first.reload.test", line=2)
        self.assertServed(s, "second.reload.test", "192.0.2.2")
        before = s.stats()
        s.rewrite(files={"names.txt": NAMES_V2})
        ok, log = s.reload()
        self.assertTrue(ok, log)
        m = re.search(r"reload: generation (\d+) in service: (.*)", log)
        self.assertIsNotNone(m, log)
        self.assertIn("1 list(s), 2 entries", m.group(2), log)
        after = self.assertCounters(s, before, reloads=1, reload_failures=0,
                                    snapshot_generation=1)
        self.assertEqual(after["snapshot_generation"], int(m.group(1)))
        m = self.assertBlocked(s, "second.reload.test", line=3)
        self.assertSynthSoa(m, "second.reload.test", 60, serial=after["snapshot_generation"])
        self.assertBlocked(s, "first.reload.test", line=2)
        self.assertBlocked(s, "www.second.reload.test", owner="second.reload.test")
        self.assertServed(s, "www.reload.test", "192.0.2.3")

    def test_reload_that_removes_a_name_unblocks_it(self):
        s = self.start(names=NAMES_V2)
        self.assertBlocked(s, "first.reload.test", line=2)
        s.rewrite(files={"names.txt": NAMES_V3})
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertServed(s, "first.reload.test", "192.0.2.1")
        self.assertBlocked(s, "second.reload.test", line=2)

    def test_reload_changes_actions_and_groups(self):
        s = self.start()
        self.assertEqual(s.ask(OTHER, "first.reload.test", "A").rcode, REFUSED)
        s.rewrite(policy_yaml(action="warn", clients=(CLIENT, OTHER)))
        ok, log = s.reload()
        self.assertTrue(ok, log)
        for src in (CLIENT, OTHER):
            with self.subTest(src=src):
                m = s.ask(src, "first.reload.test", "A")
                self.assertAnswerIs(m, NOERROR, [("first.reload.test.", "A", 30,
                                                  "203.0.113.10")])
        # And back: OTHER leaves the group (REFUSED now, the default policy).
        s.rewrite(policy_yaml(action="nx", clients=(CLIENT,)))
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertBlocked(s, "first.reload.test")
        self.assertEqual(s.ask(OTHER, "first.reload.test", "A").rcode, REFUSED)

    def test_reload_adds_a_pattern_list(self):
        # A pattern (Hyperscan) list appears only in the new generation: the workers must
        # serve it at once (each needs scratch space for the new databases).
        s = self.start_policy_sinkholed([self.knot.upstream], policy_yaml(),
                                        {"names.txt": NAMES_V1}, workers=2)
        self.assertServed(s, "second.reload.test", "192.0.2.2")
        extra = "  pat: { path: pat.txt, format: patterns }\n"
        s.rewrite(policy_yaml().replace("actions:\n", extra + "actions:\n").replace(
            "    block: [", "    block: [pat, "), files={"pat.txt": "/^sec[a-z]+d\\./\n"})
        ok, log = s.reload()
        self.assertTrue(ok, log)
        for i in range(6):  # several queries: both workers
            for tcp in (False, True):
                m = s.ask(CLIENT, "second.reload.test", "A", tcp=tcp)
                self.assertAnswerIs(m, NXDOMAIN, [])
        self.assertServed(s, "www.reload.test", "192.0.2.3")
        self.assertBlocked(s, "first.reload.test")

    # -- failing reloads ----------------------------------------------------------------
    def test_broken_yaml_keeps_old_policy_and_says_why(self):
        s = self.start()
        before = s.stats()
        with open(s.config_path) as f:
            good = f.read()
        # An unclosed flow sequence on line 3.
        broken = good.replace("policies:\n", "policies: [\n", 1)
        self.assertNotEqual(broken, good)
        s.rewrite(raw=broken)
        path = re.escape(s.config_path)
        self.assertReloadFailed(s, before, [rf"reload failed: {path}:\d+:\d+: \S"])
        self.assertBlocked(s, "first.reload.test", line=2)
        self.assertServed(s, "second.reload.test", "192.0.2.2")
        self.assertTrue(s.running())
        # A good config afterwards is taken.
        s.rewrite(policy_yaml(), files={"names.txt": NAMES_V2})
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertBlocked(s, "second.reload.test", line=3)
        self.assertCounters(s, before, reloads=1, reload_failures=1)

    def test_missing_list_file_keeps_old_policy(self):
        s = self.start()
        before = s.stats()
        s.rewrite(files={"names.txt": NAMES_V2})
        s.remove_file("names.txt")
        path = re.escape(s.config_path)
        self.assertReloadFailed(s, before, [rf"reload failed: {path}:\d+:\d+: .*names\.txt"])
        self.assertBlocked(s, "first.reload.test", line=2)
        self.assertServed(s, "second.reload.test", "192.0.2.2")

    def test_list_path_pointing_nowhere_keeps_old_policy(self):
        s = self.start()
        before = s.stats()
        s.rewrite(policy_yaml(list_path="no-such-dir/missing.txt"))
        self.assertReloadFailed(s, before, [r"reload failed: .*:\d+:\d+: .*missing\.txt"])
        self.assertBlocked(s, "first.reload.test")

    def test_unknown_action_keeps_old_policy(self):
        s = self.start()
        before = s.stats()
        s.rewrite(policy_yaml(action="warnn"), files={"names.txt": NAMES_V2})
        path = re.escape(s.config_path)
        self.assertReloadFailed(s, before, [rf"reload failed: {path}:\d+:\d+: .*warnn"])
        self.assertBlocked(s, "first.reload.test")
        self.assertServed(s, "second.reload.test", "192.0.2.2")

    def test_config_rejected_by_check_is_not_loaded(self):
        # A typo in a top-level key (`polices:`): --check rejects the file, so a reload
        # must not put it in service — it would silently drop every policy (no
        # `policies:` key means "serve every client, block nothing").
        s = self.start()
        before = s.stats()
        s.rewrite(policy_yaml().replace("policies:", "polices:"))
        check = subprocess.run([sinkholed_binary(), "--check", "--config", s.config_path],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 1, check.stdout + check.stderr)
        self.assertIn("polices", check.stderr)
        path = re.escape(s.config_path)
        self.assertReloadFailed(s, before, [rf"reload failed: {path}:\d+:\d+: .*polices"])
        self.assertBlocked(s, "first.reload.test")
        self.assertEqual(s.ask(OTHER, "first.reload.test", "A").rcode, REFUSED)

    # -- no query lost ----------------------------------------------------------------------
    def test_queries_answered_during_reloads(self):
        gambling = blocklist_path("ut1/gambling.domains")
        sb = blocklist_path("stevenblack/gambling-only-domains.txt")
        extra_lists = (f'  g1: {{ path: "{gambling}", category: gambling }}\n'
                       f'  g2: {{ path: "{sb}", category: gambling }}\n')

        def big_yaml(first_action):
            return policy_yaml(action=first_action).replace(
                "lists:\n", "lists:\n" + extra_lists).replace(
                "    block: [", "    block: [g1, g2, ")

        listed = next(n for n in list_names("ut1/gambling.domains") if n.count(".") == 1)
        s = self.start_policy_sinkholed([self.knot.upstream], big_yaml("nx"),
                                        {"names.txt": NAMES_V1}, workers=2)
        stop = threading.Event()
        results = {"sent": 0, "lost": [], "wrong": []}
        lock = threading.Lock()

        def client(idx):
            cases = [(listed, NXDOMAIN, None), ("www.reload.test", NOERROR, "192.0.2.3"),
                     ("second.reload.test", NOERROR, "192.0.2.2")]
            i = 0
            while not stop.is_set():
                name, rcode, a = cases[(i + idx) % len(cases)]
                i += 1
                reply = s.raw_from(CLIENT, build_query(name, "A"), tcp=(i % 5 == 0),
                                   timeout=1.5)
                with lock:
                    results["sent"] += 1
                    if reply is None:
                        results["lost"].append(name)
                        continue
                    m = parse(reply)
                    if m.rcode != rcode or (a and m.values("A") != [a]):
                        results["wrong"].append(repr(m))

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        before = s.stats()
        try:
            time.sleep(0.2)
            outcomes = []
            for k in range(6):  # one at a time, alternating the first list's action
                s.rewrite(big_yaml("warn" if k % 2 else "nx"))
                outcomes.append(s.reload()[0])
            for _ in range(5):  # and a burst
                s.proc.send_signal(signal.SIGHUP)
                time.sleep(0.01)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        self.assertEqual(outcomes, [True] * 6)
        self.assertCountersAtLeast(s, before, reloads=7)
        self.assertCounters(s, before, reload_failures=0)
        self.assertGreater(results["sent"], 100)
        self.assertEqual(results["lost"], [], f"{len(results['lost'])} of {results['sent']} "
                                              f"queries got no answer during reloads")
        self.assertEqual(results["wrong"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
