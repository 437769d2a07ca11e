# SPDX-License-Identifier: MIT
"""sinkholed under systemd, proved without systemd as PID 1:

  - the unit in deploy/systemd passes `systemd-analyze verify` (pointed at this build's
    binaries), while a broken copy does not; its paths agree with the packaged config,
    which passes `--check` and listens on loopback only;
  - the daemon speaks the sd_notify protocol to a notify socket the test owns, as systemd
    would see it: READY=1 with a STATUS once it serves, WATCHDOG=1 at half of
    WATCHDOG_USEC, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around every reload
    (SIGHUP, `sinkholectl reload`, a failed one), STOPPING=1 on SIGTERM and exit 0; every
    message comes from the main PID (NotifyAccess=main);
  - the watchdog is fed only while every worker loop turns: a worker thread frozen with
    ptrace (the rest of the process runs on) stops the pings until it is released;
  - MemoryDenyWriteExecute=yes holds: under the kernel's PR_SET_MDWE (what systemd sets),
    a Hyperscan pattern list compiles and blocks.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl, sinkholectl_binary  # noqa: E402
from dnswire import NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from processes import REPO, sinkholed_binary  # noqa: E402

UNIT = os.path.join(REPO, "deploy", "systemd", "sinkholed.service")
PACKAGED_CONFIG = os.path.join(REPO, "deploy", "systemd", "sinkholed.yaml")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
CLIENT = "127.0.0.2"
WATCHDOG_USEC = 600_000  # pings expected every 0.3 s


def unit_directives(text):
    """{key: [values]} of a unit file (comments and section headers dropped)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


# ---------------------------------------------------------------------------------------
# The unit file and the packaged config
# ---------------------------------------------------------------------------------------

class UnitFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-unit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        with open(UNIT) as f:
            self.text = f.read()

    def verify(self, text):
        """`systemd-analyze verify` of `text` as sinkholed.service, with ExecStart and
        ExecReload pointed at this build (verify checks that they are executable)."""
        text = (text.replace("/usr/sbin/sinkholed", os.path.abspath(sinkholed_binary()))
                    .replace("/usr/bin/sinkholectl", os.path.abspath(sinkholectl_binary())))
        path = os.path.join(self.dir, "sinkholed.service")
        with open(path, "w") as f:
            f.write(text)
        # --man=no: the man pages are installed by the package, not by the build.
        p = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        return p.returncode, (p.stdout + p.stderr).strip()

    def test_unit_verifies_without_a_word(self):
        code, out = self.verify(self.text)
        self.assertEqual((code, out), (0, ""), "systemd-analyze verify must report nothing")

    def test_verify_reports_a_broken_unit(self):
        # The check above can fail: the same unit with a typo and a missing binary.
        broken = self.text.replace("Type=notify", "Type=notfy").replace(
            "/usr/bin/sinkholectl", "/nonexistent/sinkholectl")
        code, out = self.verify(broken)
        self.assertNotEqual(out, "", "a broken unit must be reported")
        self.assertIn("notfy", out)

    def test_unit_settings(self):
        d = unit_directives(self.text)
        one = {k: v[-1] for k, v in d.items()}
        self.assertEqual(one["Type"], "notify")
        self.assertEqual(one["NotifyAccess"], "main")
        self.assertEqual(one["WatchdogSec"], "30s")
        self.assertEqual(one["ExecStart"],
                         "/usr/sbin/sinkholed --config /etc/sinkholed/sinkholed.yaml")
        self.assertEqual(one["Restart"], "on-failure")
        self.assertEqual((one["User"], one["Group"]), ("sinkholed", "sinkholed"))
        self.assertEqual(one["AmbientCapabilities"], "CAP_NET_BIND_SERVICE")
        self.assertEqual(one["CapabilityBoundingSet"], "CAP_NET_BIND_SERVICE")
        self.assertEqual(one["MemoryDenyWriteExecute"], "yes")
        self.assertEqual(one["SystemCallFilter"], "@system-service")
        self.assertEqual(set(one["RestrictAddressFamilies"].split()),
                         {"AF_INET", "AF_INET6", "AF_UNIX"})
        self.assertGreaterEqual(int(one["LimitNOFILE"]), 65536)

    def test_unit_and_packaged_config_agree(self):
        one = {k: v[-1] for k, v in unit_directives(self.text).items()}
        with open(PACKAGED_CONFIG) as f:
            cfg = f.read()
        # ExecReload talks to the socket the config opens, inside RuntimeDirectory.
        m = re.search(r"^\s*socket:\s*(\S+)", cfg, re.M)
        self.assertIsNotNone(m, "control.socket must be set in the packaged config")
        socket_path = m.group(1)
        self.assertEqual(one["ExecReload"], f"/usr/bin/sinkholectl -s {socket_path} reload")
        self.assertEqual(os.path.dirname(socket_path), "/run/" + one["RuntimeDirectory"])
        self.assertEqual(one["ConfigurationDirectory"], "sinkholed")
        # A fresh install is no open resolver: loopback only.
        m = re.search(r"^\s*listen:\s*(\[.*\])", cfg, re.M)
        self.assertEqual(m.group(1), '["127.0.0.1:53", "[::1]:53"]')

    def test_packaged_config_passes_check(self):
        p = subprocess.run([sinkholed_binary(), "--check", "--config", PACKAGED_CONFIG],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(": OK: 2 listen address(es)", p.stdout)


# ---------------------------------------------------------------------------------------
# sd_notify
# ---------------------------------------------------------------------------------------

class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notify socket. Every message
    is kept as (monotonic arrival time, sender PID, {field: value}, raw text)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        # The kernel attaches the sender's credentials, as systemd asks it to.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.messages = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.closed:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            text = data.decode(errors="replace")
            fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
            with self.cond:
                self.messages.append((time.monotonic(), pid, fields, text))
                self.cond.notify_all()

    def close(self):
        self.closed = True
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def count(self):
        with self.cond:
            return len(self.messages)

    def since(self, start):
        with self.cond:
            return list(self.messages[start:])

    def wait_for(self, start, pred, timeout, what):
        """Index of the first message at or after `start` that satisfies `pred`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if pred(self.messages[i][2]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {what} within {timeout}s; got "
                        f"{[m[3] for m in self.messages[start:]]}")
                self.cond.wait(left)

    def pings(self, start=0, end=None):
        return [m[0] for m in self.since(start)[:None if end is None else end - start]
                if m[2].get("WATCHDOG") == "1"]


def not_watchdog(fields):
    return "WATCHDOG" not in fields


def policy_yaml(sock):
    # File watching off: only the reloads a test asks for may happen.
    return f"""\
control:
  socket: "{sock}"
  watch_files: false
lists:
  names: {{ path: names.txt, category: gambling }}
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block: [{{ list: names, action: nxdomain }}]
"""


class NotifyTest(PolicyTestCase):
    def setUp(self):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)
        self.ctl_dir = tempfile.mkdtemp(prefix="sinkholed-ctl-")
        self.addCleanup(shutil.rmtree, self.ctl_dir, True)
        self.ctl_sock = os.path.join(self.ctl_dir, "control.sock")

    def start(self, watchdog_usec=WATCHDOG_USEC, workers=1):
        env = {"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_PID": None,
               "WATCHDOG_USEC": None if watchdog_usec is None else str(watchdog_usec)}
        # Nothing listens on the discard port: only blocked names get a real answer.
        s = self.start_policy_sinkholed(["127.0.0.1:9"], policy_yaml(self.ctl_sock),
                                        {"names.txt": "one.notify.test\n"}, env=env,
                                        workers=workers)
        return s

    def ctl(self, *args):
        return sinkholectl(self.ctl_sock, *args)

    def assertReload(self, start, status_re):
        """RELOADING=1 (with MONOTONIC_USEC) at or after `start`, then READY=1 whose STATUS
        matches `status_re`, nothing else between them but pings. Returns the next index."""
        i = self.notify.wait_for(start, lambda f: "RELOADING" in f, 15, "RELOADING=1")
        fields = self.notify.since(i)[0][2]
        self.assertEqual(fields["RELOADING"], "1")
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.assertLess(abs(int(fields["MONOTONIC_USEC"]) - now_usec), 30_000_000, fields)
        j = self.notify.wait_for(i + 1, not_watchdog, 15, "READY=1 after RELOADING=1")
        fields = self.notify.since(j)[0][2]
        self.assertEqual(fields.get("READY"), "1", fields)
        self.assertRegex(fields.get("STATUS", ""), status_re)
        return j + 1

    def test_lifecycle_ready_watchdog_reloads_stopping(self):
        s = self.start()
        first = self.notify.wait_for(0, not_watchdog, 10, "READY=1")
        self.assertEqual(first, 0, "READY=1 is the first message")
        ready = self.notify.since(0)[0][2]
        self.assertEqual(ready.get("READY"), "1")
        self.assertRegex(ready.get("STATUS", ""),
                         rf"serving on {re.escape(s.addr)}:{s.port}.* with 1 worker\(s\); "
                         r"policy generation 1 in service")
        self.assertEqual(s.ask(CLIENT, "one.notify.test").rcode, NXDOMAIN)

        # Pings at half of WATCHDOG_USEC, only after READY.
        start = self.notify.count()
        time.sleep(2.1)
        pings = self.notify.pings(start)
        self.assertGreaterEqual(len(pings), 4, f"pings in 2.1 s: {len(pings)}")
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertTrue(0.2 <= statistics.median(gaps) <= 0.45, f"ping gaps {gaps}")

        # SIGHUP, then sinkholectl: each RELOADING=1 then READY=1 with the new generation.
        mark = self.notify.count()
        s.write_files({"names.txt": "one.notify.test\ntwo.notify.test\n"})
        s.proc.send_signal(signal.SIGHUP)
        mark = self.assertReload(mark, r"^reloaded: policy generation 2 in service")
        self.assertEqual(s.ask(CLIENT, "two.notify.test").rcode, NXDOMAIN)
        p = self.ctl("reload")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        mark = self.assertReload(mark, r"^reloaded: policy generation 3 in service")

        # A failed reload ends with READY=1 too (the old policy serves); STATUS says so.
        s.rewrite(raw="server: [unclosed\n")
        s.proc.send_signal(signal.SIGHUP)
        mark = self.assertReload(
            mark, r"^reload FAILED, policy generation 3 still in service: .*sinkholed\.yaml")
        p = self.ctl("reload")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        mark = self.assertReload(mark, r"^reload FAILED, policy generation 3 still in service")

        # Pings go on after the reloads.
        start = self.notify.count()
        time.sleep(1.0)
        self.assertGreaterEqual(len(self.notify.pings(start)), 2)

        # SIGTERM: STOPPING=1, nothing after it (no ping), exit 0.
        pid = s.proc.pid
        mark = self.notify.count()
        s.stop(signal.SIGTERM, timeout=10)  # asserts exit 0
        rest = [m[2] for m in self.notify.since(mark)]
        stop_at = [i for i, f in enumerate(rest) if f.get("STOPPING") == "1"]
        self.assertEqual(len(stop_at), 1, f"one STOPPING=1 in {rest}")
        self.assertEqual(rest[stop_at[0] + 1:], [], "nothing after STOPPING=1")
        self.assertEqual({m[1] for m in self.notify.since(0)}, {pid},
                         "every message from the main PID (NotifyAccess=main)")

    def test_no_pings_without_watchdog_usec(self):
        s = self.start(watchdog_usec=None)
        self.notify.wait_for(0, lambda f: f.get("READY") == "1", 10, "READY=1")
        time.sleep(1.0)
        self.assertEqual(self.notify.pings(), [], "no WATCHDOG_USEC: no pings")
        self.assertNotIn("watchdog:", s.log_text())
        s.stop()

    def test_pings_stop_while_a_worker_hangs(self):
        s = self.start(workers=2)
        self.notify.wait_for(0, lambda f: f.get("READY") == "1", 10, "READY=1")
        self.notify.wait_for(0, lambda f: f.get("WATCHDOG") == "1", 5, "a first ping")
        tid = worker_thread(s.proc.pid, "worker 1")
        with FrozenThread(tid):
            # At most one check may still see the last beat; then nothing for a while.
            time.sleep(0.8)
            start = self.notify.count()
            time.sleep(1.5)
            self.assertEqual(self.notify.pings(start), [], "pings while worker 1 hangs")
            self.assertRegex(s.log_text(), r"watchdog: worker\(s\) 1 made no progress")
            # The process is otherwise alive: the control thread still answers.
            p = self.ctl("status")
            self.assertEqual(p.returncode, 0, p.stderr)
        start = self.notify.count()
        self.notify.wait_for(start, lambda f: f.get("WATCHDOG") == "1", 3,
                             "pings once the worker runs again")
        self.assertIn("watchdog: every worker is alive again", s.log_text())
        s.stop()


# ---------------------------------------------------------------------------------------
# Freezing one thread: ptrace stops a single thread, not its process
# ---------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


def worker_thread(pid, name, timeout=5.0):
    """The thread id of `pid` whose name is `name` (Worker::run names its thread)."""
    deadline = time.monotonic() + timeout
    while True:
        names = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    names[f.read().strip()] = int(tid)
            except OSError:
                pass
        if name in names:
            return names[name]
        if time.monotonic() > deadline:
            raise AssertionError(f"no thread named {name!r} in {sorted(names)}")
        time.sleep(0.05)


class FrozenThread:
    """Stops one thread with PTRACE_SEIZE + PTRACE_INTERRUPT while the block runs; the
    other threads of the process go on. The calling thread is the tracer throughout."""

    def __init__(self, tid):
        self.tid = tid

    def _ptrace(self, request):
        if _libc.ptrace(request, self.tid, None, None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"ptrace({request:#x}, {self.tid}): {os.strerror(err)}")

    def __enter__(self):
        self._ptrace(PTRACE_SEIZE)
        self._ptrace(PTRACE_INTERRUPT)
        _, status = os.waitpid(self.tid, WALL)
        if not os.WIFSTOPPED(status):
            raise AssertionError(f"thread {self.tid} did not stop: status {status:#x}")
        return self

    def __exit__(self, *exc):
        self._ptrace(PTRACE_DETACH)
        return False


# ---------------------------------------------------------------------------------------
# MemoryDenyWriteExecute
# ---------------------------------------------------------------------------------------

# Sets the prctl systemd sets for MemoryDenyWriteExecute=yes (PR_SET_MDWE, kernel >= 6.3;
# kept across execve), then execs argv[1:].
MDWE_EXEC = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_MDWE): " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"""
MDWE_PREFIX = [sys.executable, "-c", MDWE_EXEC]
WX_MAP = ("import mmap; mmap.mmap(-1, 4096, "
          "prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC); print('mapped')")


class MemoryDenyWriteExecuteTest(PolicyTestCase):
    def test_control_wx_mapping_is_refused(self):
        # Without the prctl a W+X mapping works; with it, even after exec, it is refused:
        # the wrapper really puts the daemon under the rule.
        free = subprocess.run([sys.executable, "-c", WX_MAP], capture_output=True, text=True)
        self.assertEqual(free.stdout.strip(), "mapped", free.stderr)
        held = subprocess.run(MDWE_PREFIX + [sys.executable, "-c", WX_MAP],
                              capture_output=True, text=True)
        self.assertNotEqual(held.returncode, 0, held.stdout)
        self.assertIn("PermissionError", held.stderr)

    def test_hyperscan_patterns_block_under_mdwe(self):
        yaml = f"""\
control:
  socket: ""
lists:
  pat: {{ path: pat.txt, format: patterns, category: gambling }}
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block: [{{ list: pat, action: nxdomain }}]
"""
        s = self.start_policy_sinkholed(["127.0.0.1:9"], yaml,
                                        {"pat.txt": "/^casino[0-9]+\\./\n*.bet*.example\n"},
                                        exec_prefix=MDWE_PREFIX)
        self.assertEqual(s.ask(CLIENT, "casino42.mdwe.test").rcode, NXDOMAIN)
        self.assertEqual(s.ask(CLIENT, "www.bet365.example").rcode, NXDOMAIN)
        self.assertNotEqual(s.ask(CLIENT, "casino.mdwe.test").rcode, NXDOMAIN)
        ok, log = s.reload()  # a reload compiles the patterns again, on the thread pool
        self.assertTrue(ok, log)
        self.assertEqual(s.ask(CLIENT, "casino7.mdwe.test").rcode, NXDOMAIN)
        s.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
