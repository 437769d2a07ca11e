# SPDX-License-Identifier: MIT
"""Fault tests 3 and 4 of the hardening issue: broken lists fail closed.

A blocklist replaced by random bytes, an HTML "502 Bad Gateway" page, an empty file, a
file truncated to less than half, a FIFO, a 6 EiB sparse file (over max_entries by its
size alone), or deleted, then a reload (SIGHUP and `sinkholectl reload` alike): the blocked name
stays blocked (the old generation keeps serving), `reload_failures` goes up by one, and the
log, `sinkholectl status` (text and --json) and `/metrics`
(`sinkholed_list_reload_failures_total{list,reason}`) name the list and the reason.
`sinkholectl reload --force` then publishes the shrunk list; a list with `allow_shrink:
true` publishes a shrink without it. With `watch_files`, a list rewritten in place by a
writer that pauses for longer than the debounce is never published half written.
SIGTERM stays prompt with a FIFO in place of a list.

At start, the same faults (and a list over `max_entries`) make sinkholed exit 1 with the
list and the reason on stderr. The other config error kinds at start are covered by
test_config.py (broken YAML, bad values, unknown keys) and test_policy_config.py (unknown
key in a list, unknown action, bad address, missing list file); at reload by
test_policy_reload.py (broken YAML, missing list, unknown action, top-level typo); this
file adds a bad value and an unknown list key at reload."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import (free_port, free_tcp_port, random_loopback, scrape_metrics,  # noqa: E402
                       sinkholed_binary)
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"
BLOCKED = "blocked.fault.test"
NEW = "new.fault.test"
FILLER = [f"filler{i}.fault.test" for i in range(99)]
# The blocked name last: a list cut short loses it.
GOOD = "# gambling\n" + "".join(n + "\n" for n in FILLER) + BLOCKED + "\n"
HTML_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""
# 6 EiB, sparse (tmpfs allows it): refused by size, before a byte is read.
HUGE = 6 << 60


def zones():
    return {"fault.test": soa_zone_text("fault.test", [
        "blocked 600 IN A 192.0.2.1",
        "new 600 IN A 192.0.2.2",
        "www 600 IN A 192.0.2.3",
    ])}


def garbage(n=8192, seed=7):
    rnd = random.Random(seed)
    return bytes(rnd.randrange(256) for _ in range(n))


class FaultListsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-fault-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")
        self.mport = free_tcp_port("127.0.0.1")

    def yaml(self, list_extra="", watch=False, debounce="200ms"):
        return f"""\
control:
  socket: "{self.sock}"
  watch_files: {"true" if watch else "false"}
  watch_debounce: {debounce}
metrics:
  listen: "127.0.0.1:{self.mport}"
lists:
  gambling: {{ path: gambling.txt, category: gambling{list_extra} }}
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block: [{{ list: gambling, action: nxdomain }}]
"""

    def start(self, **kw):
        return self.start_policy_sinkholed([self.knot.upstream], self.yaml(**kw),
                                           {"gambling.txt": GOOD})

    def ctl(self, *args):
        return sinkholectl(self.sock, *args)

    def list_path(self, s):
        return os.path.join(s.dir, "gambling.txt")

    def put(self, s, content):
        """Replaces the list atomically with bytes, or with a FIFO (content None)."""
        path = self.list_path(s)
        tmp = path + ".new"
        if content is None:
            os.mkfifo(tmp)
        else:
            with open(tmp, "wb") as f:
                f.write(content)
        os.replace(tmp, path)

    def assertBlocked(self, s, name=BLOCKED):
        self.assertEqual(s.ask(CLIENT, name, "A").rcode, NXDOMAIN, f"{name} must be blocked")

    def assertServed(self, s, name, a):
        m = s.ask(CLIENT, name, "A")
        self.assertEqual((m.rcode, m.values("A")), (NOERROR, [a]), f"{name} must resolve")

    def metrics(self):
        return scrape_metrics(self.mport)

    def reload_by(self, s, how, force=False):
        """(ok, log text, sinkholectl output) of one reload by SIGHUP or sinkholectl."""
        if how == "sighup":
            ok, log = s.reload()
            return ok, log, ""
        before = s.log_size()
        p = self.ctl("reload", *(["--force"] if force else []))
        self.assertIn(p.returncode, (0, 1), p.stdout + p.stderr)
        return p.returncode == 0, s.log_since(before), p.stdout + p.stderr

    # -- fault test 3 ---------------------------------------------------------------------
    def test_broken_lists_fail_the_reload_and_the_old_rules_keep_serving(self):
        s = self.start()
        self.assertBlocked(s)
        path = re.escape(self.list_path(s))
        cases = [
            ("garbage", garbage(), None),  # empty or reject_ratio, as the bytes fall
            ("html", HTML_502.encode(), "empty"),
            ("empty", b"", "empty"),
            ("truncated", "".join(n + "\n" for n in FILLER[:30]).encode(), "shrink"),
            ("mostly rejected", (GOOD + "not a name\n" * 5).encode(), "reject_ratio"),
            ("deleted", "delete", "unreadable"),
            ("huge", "huge", "max_entries"),
            ("fifo", None, "not_regular_file"),
        ]
        expected = {}
        for i, (label, content, reason) in enumerate(cases):
            how = "sighup" if i % 2 == 0 else "ctl"
            with self.subTest(label, how=how):
                if content == "delete":
                    os.unlink(self.list_path(s))
                elif content == "huge":
                    shm = tempfile.mkdtemp(prefix="sinkholed-huge-", dir="/dev/shm")
                    self.addCleanup(shutil.rmtree, shm, True)
                    big = os.path.join(shm, "gambling.txt")
                    with open(big, "wb") as f:
                        f.truncate(HUGE)
                    if os.path.lexists(self.list_path(s)):
                        os.unlink(self.list_path(s))
                    os.symlink(big, self.list_path(s))
                else:
                    self.put(s, content)
                before = s.stats()
                ok, log, out = self.reload_by(s, how)
                self.assertFalse(ok, f"a {label} list must fail the reload:\n{log}\n{out}")
                self.assertRegex(log, rf"reload failed: .*list gambling \({path}\): .*"
                                      r"refusing to publish", log)
                self.assertRegex(log, r"reload failed: keeping generation 1 in service", log)
                if how == "ctl":
                    self.assertIn("list gambling (", out)
                    self.assertIn("generation 1 still in service", out)
                self.assertCounters(s, before, reloads=0, reload_failures=1,
                                    snapshot_generation=0)
                self.assertBlocked(s)
                self.assertServed(s, "www.fault.test", "192.0.2.3")
                st = self.ctl("status")
                self.assertIn("last reload FAILED (old policy still serving): ", st.stdout)
                m = re.search(r"refused gambling \((\w+)\): list gambling \(", st.stdout)
                self.assertIsNotNone(m, st.stdout)
                got = m.group(1)
                if reason:
                    self.assertEqual(got, reason, st.stdout)
                else:
                    self.assertIn(got, ("empty", "reject_ratio"), st.stdout)
                doc = json.loads(self.ctl("status", "--json").stdout)
                self.assertEqual(doc["generation"], 1)
                self.assertEqual([(f["list"], f["reason"]) for f in
                                  doc["last_reload_refused_lists"]], [("gambling", got)])
                self.assertIn("list gambling (", doc["last_reload_error"])
                expected[got] = expected.get(got, 0) + 1
                # Log lines stay lines: no raw control bytes from the garbage.
                for line in log.splitlines():
                    self.assertFalse(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), repr(line))
        text = self.metrics()
        for reason, n in expected.items():
            self.assertRegex(text, rf'sinkholed_list_reload_failures_total\{{list="gambling",'
                                   rf'reason="{reason}"\}} {n}\n', text)
        self.assertIn("sinkholed_last_reload_ok 0\n", text)
        # A FIFO in place of the list: SIGTERM still ends the daemon at once (stop()
        # asserts exit 0 within its timeout).
        self.assertTrue(os.path.exists(self.list_path(s)))
        t0 = time.monotonic()
        s.stop()
        self.assertLess(time.monotonic() - t0, 5)

    def test_force_publishes_a_shrunk_list(self):
        s = self.start()
        self.put(s, "".join(n + "\n" for n in FILLER[:30]).encode())
        ok, log, out = self.reload_by(s, "ctl")
        self.assertFalse(ok, log)
        self.assertIn("30 entries, down from 100 in service (-70%, max_shrink 50%)", out)
        self.assertIn("sinkholectl reload --force publishes it anyway", out)
        self.assertBlocked(s)
        before = s.stats()
        ok, log, out = self.reload_by(s, "ctl", force=True)
        self.assertTrue(ok, log + out)
        self.assertRegex(out, r"^ok: generation \d+ in service: 1 list\(s\), 30 entries", out)
        self.assertIn("published anyway (--force)", log)
        self.assertIn("reload: forced", log)
        self.assertCounters(s, before, reloads=1, reload_failures=0)
        self.assertServed(s, BLOCKED, "192.0.2.1")
        self.assertBlocked(s, FILLER[0])
        # --force is for that one reload: the next shrink is refused again.
        self.put(s, (FILLER[0] + "\n").encode())
        ok, log = s.reload()
        self.assertFalse(ok, log)
        self.assertIn("1 entries, down from 30 in service", log)

    def test_allow_shrink_publishes_without_force(self):
        s = self.start(list_extra=", allow_shrink: true")
        self.put(s, "".join(n + "\n" for n in FILLER[:10]).encode())
        ok, log = s.reload()
        self.assertTrue(ok, log)
        self.assertIn("1 list(s), 10 entries", log)
        self.assertServed(s, BLOCKED, "192.0.2.1")
        # allow_shrink is not allow_empty.
        self.put(s, HTML_502.encode())
        ok, log = s.reload()
        self.assertFalse(ok, log)
        self.assertIn("0 valid entries of 7 lines", log)

    def test_bad_config_at_reload_keeps_the_old_state(self):
        s = self.start()
        for label, extra, word in [("bad value", ", max_shrink: lots", "max_shrink"),
                                   ("unknown key", ", max_entrys: 5", "max_entrys"),
                                   ("bad ratio", ", max_reject_ratio: 200%",
                                    "max_reject_ratio")]:
            with self.subTest(label):
                s.rewrite(self.yaml(list_extra=extra))
                before = s.stats()
                ok, log = s.reload()
                self.assertFalse(ok, log)
                self.assertRegex(log, rf"reload failed: {re.escape(s.config_path)}:\d+:\d+: "
                                      rf".*{word}", log)
                self.assertCounters(s, before, reload_failures=1, snapshot_generation=0)
                self.assertBlocked(s)

    def test_watch_never_publishes_a_half_written_list(self):
        # Rewritten in place (truncate, write 60 names, pause 1.5 debounce, write the rest):
        # the old watcher reloaded one debounce after the first write and published the
        # 60-name half (a 40% shrink, which the guard allows). Now only the whole file is.
        s = self.start(watch=True, debounce="1000ms")
        full = GOOD + NEW + "\n"
        first, rest = full[:full.index(FILLER[60])], full[full.index(FILLER[60]):]
        before_log = s.log_size()
        with open(self.list_path(s), "w") as f:
            f.write(first)
            f.flush()
            os.fsync(f.fileno())
            time.sleep(1.5)
            self.assertBlocked(s)  # the old list still serves while the file is half
            f.write(rest)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if re.search(r"reload: generation \d+ in service", s.log_since(before_log)):
                break
            time.sleep(0.05)
        log = s.log_since(before_log)
        outcomes = re.findall(r"reload: generation (\d+) in service: (.*)", log)
        self.assertEqual(len(outcomes), 1, log)
        self.assertIn("1 list(s), 101 entries", outcomes[0][1], log)
        self.assertNotIn("reload failed", log)
        self.assertBlocked(s, NEW)
        self.assertBlocked(s)


class FaultListsAtStartTest(unittest.TestCase):
    """Fault test 4 at start: a broken list fails the start, exit 1, the list and the
    reason on stderr; the daemon never hangs on a FIFO."""

    def run_with_list(self, content, list_extra="", defaults="", check=False):
        d = tempfile.mkdtemp(prefix="sinkholed-start-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "gambling.txt")
        if content is None:
            os.mkfifo(path)
        elif content == "huge":
            shm = tempfile.mkdtemp(prefix="sinkholed-huge-", dir="/dev/shm")
            self.addCleanup(shutil.rmtree, shm, True)
            big = os.path.join(shm, "gambling.txt")
            with open(big, "wb") as f:
                f.truncate(HUGE)
            os.symlink(big, path)
        else:
            with open(path, "wb") as f:
                f.write(content)
        cfg = os.path.join(d, "sinkholed.yaml")
        addr = random_loopback()
        port = free_port([addr])
        with open(cfg, "w") as f:
            # The start fails at the lists, after the sockets bind.
            f.write(f"""\
server: {{ listen: ["{addr}:{port}"], workers: 1, runtime_dir: "{d}/run" }}
upstreams: [127.0.0.1:9]
{defaults}lists:
  gambling: {{ path: gambling.txt{list_extra} }}
""")
        p = subprocess.run([sinkholed_binary(), *(["--check"] if check else []), "--config", cfg],
                           capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr, path

    def test_each_broken_list_fails_the_start(self):
        many = "".join(f"n{i}.fault.test\n" for i in range(200)).encode()
        cases = [
            ("empty", b"", "", "", "0 valid entries of 0 lines"),
            ("html", HTML_502.encode(), "", "", "0 valid entries of 7 lines"),
            ("garbage", garbage(), "", "", "refusing to publish"),
            ("rejects", GOOD.encode() + b"not a name\n" * 3, "", "",
             "3 of 103 entry lines rejected (2.91%, max_reject_ratio 1%)"),
            ("fifo", None, "", "", "not a regular file (a FIFO)"),
            ("max_entries", many, ", max_entries: 100", "",
             "more than max_entries 100 entries (200 read)"),
            ("max_entries default", many, "", "list_defaults: { max_entries: 150 }\n",
             "more than max_entries 150 entries (200 read)"),
            ("huge", "huge", "", "", "a file of 6917529027641081856 bytes is more than "
             "max_entries 10000000 entries could fill"),
        ]
        for label, content, extra, defaults, piece in cases:
            with self.subTest(label):
                t0 = time.monotonic()
                code, out, path = self.run_with_list(content, extra, defaults)
                self.assertEqual(code, 1, out)
                self.assertIn(f"list gambling ({path}): ", out)
                self.assertIn(piece, out)
                self.assertIn("configuration rejected", out)
                self.assertLess(time.monotonic() - t0, 30, "the start must not hang")
                self.assertLess(len(out.splitlines()), 30, out[:3000])  # no warning flood
        # The same list within its bounds passes.
        code, out, _ = self.run_with_list(GOOD.encode(), ", max_entries: 100", check=True)
        self.assertEqual(code, 0, out)
        self.assertIn("list gambling (domains, category gambling): 100 entries", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
