# SPDX-License-Identifier: MIT
"""The RPZ secondary against a real knotd primary with TSIG: the first AXFR at start; a name
added on the primary (knotc zone-begin/zone-set/zone-commit) is blocked by TWO sinkholed
instances within 2 s of the commit (knotd's NOTIFY → IXFR → build; the time-to-enforce is
measured and printed); a removal unblocks; an unknown NOTIFY source is refused and counted;
a wrong TSIG key is refused and counted while the saved copy keeps serving; a restart with
the primary unreachable serves the saved copy at once; a truncated and an inconsistent
transfer from a fake primary are refused and counted, the old copy serving; a reload to
another primary shows it in `sinkholectl lists` and asks it at once."""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import dns.message
import dns.opcode
import dns.rcode
import dns.rrset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_list  # noqa: E402
from dnswire import NXDOMAIN, parse, udp_from  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import (free_port, free_tcp_port, random_loopback, scrape_metrics,  # noqa: E402
                       sinkholed_binary, stop_process)

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
KEYMGR = shutil.which("keymgr") or "/usr/sbin/keymgr"
CLIENT = "127.0.0.2"
ZONE = "mic.rpz"


def sanitizer_factor():
    with open(sinkholed_binary(), "rb") as f:
        data = f.read()
    if b"__tsan_init" in data or b"libtsan" in data:
        return 5
    if b"__asan_init" in data or b"libasan" in data:
        return 3
    return 1


def make_key(name="feed"):
    return subprocess.run([KEYMGR, "-t", name, "hmac-sha256"], check=True, capture_output=True,
                          text=True).stdout


def key_secret(text):
    return [line.split("secret:")[1].strip() for line in text.splitlines()
            if "secret:" in line][0]


def zone_text(names, serial=1):
    lines = [f"$ORIGIN {ZONE}.", "$TTL 60",
             f"@ SOA ns.{ZONE}. admin.{ZONE}. {serial} 3600 2 600 60", f"@ NS ns.{ZONE}."]
    lines += [f"{n} CNAME ." for n in names]
    return "\n".join(lines) + "\n"


def rpz_list_yaml(primary, zone=ZONE, key_file="feed.key", tsig=True):
    """A sinkholed RPZ feed list (YAML flow mapping) from `primary`, TSIG-signed with the
    key PrimaryKnot writes to `key_file` unless `tsig` is False."""
    tsig_part = (f", tsig: {{ name: feed, algorithm: hmac-sha256, secret_file: {key_file} }}"
                 if tsig else "")
    return (f'{{ format: rpz, primary: ["{primary}"], zone: {zone}, category: law-violation'
            f"{tsig_part} }}")


class PrimaryKnot:
    """knotd serving mic.rpz to holders of the TSIG key, sending NOTIFY (signed, from its own
    address) to the sinkholed instances given to notify()."""

    @classmethod
    def for_class(cls, test_cls, names):
        """Started for a test class (setUpClass) and stopped by its class cleanup."""
        primary = cls(names)
        test_cls.addClassCleanup(primary.stop)
        primary.start()
        return primary

    @property
    def where(self):
        """"addr:port", as a list's `primary` names it."""
        return f"{self.addr}:{self.port}"

    def __init__(self, names):
        self.names = names
        self.key_text = make_key()
        self.dir = tempfile.mkdtemp(prefix="knotd-primary-")
        for sub in ("run", "db", "zones"):
            os.mkdir(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "zones", f"{ZONE}.zone"), "w") as f:
            f.write(zone_text(names))
        self.addr = random_loopback()
        self.port = free_port([self.addr])
        self.conf = os.path.join(self.dir, "knot.conf")
        self.proc = None
        self.remotes = []

    def config(self):
        d = self.dir
        lines = ["server:", f'    rundir: "{d}/run"', f"    listen: {self.addr}@{self.port}",
                 "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1",
                 "log:", "  - target: stderr", "    any: info",
                 "database:", f'    storage: "{d}/db"']
        lines += self.key_text.splitlines()[1:]  # key: - id/algorithm/secret
        lines += ["acl:", "  - id: xfr", "    key: feed", "    action: transfer"]
        if self.remotes:
            lines.append("remote:")
            for i, (addr, port) in enumerate(self.remotes):
                lines += [f"  - id: s{i}", f"    address: {addr}@{port}", "    key: feed",
                          f"    via: {self.addr}"]
        lines += ["template:", "  - id: default", f'    storage: "{d}/zones"',
                  '    file: "%s.zone"', "    zonefile-sync: -1", "    zonefile-load: whole",
                  "    journal-content: changes",
                  "zone:", f"  - domain: {ZONE}.", "    acl: xfr"]
        if self.remotes:
            lines.append(f"    notify: [{', '.join(f's{i}' for i in range(len(self.remotes)))}]")
        return "\n".join(lines) + "\n"

    def start(self, timeout=20):
        with open(self.conf, "w") as f:
            f.write(self.config())
        self.log = open(os.path.join(self.dir, "knotd.log"), "ab")
        self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.knotc("zone-status", ZONE, check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"knotd did not start:\n{self.log_text()}")

    def notify(self, endpoints):
        """NOTIFY the sinkholed instances at [(addr, port)] from now on."""
        self.remotes = list(endpoints)
        with open(self.conf, "w") as f:
            f.write(self.config())
        self.knotc("reload")

    def knotc(self, *args, check=True):
        p = subprocess.run([KNOTC, "-c", self.conf, *args], capture_output=True, text=True,
                           timeout=20)
        if check and p.returncode != 0:
            raise AssertionError(f"knotc {args}: {p.stdout}{p.stderr}")
        return p

    def change(self, add=(), remove=()):
        """One transaction; returns the time just before the commit."""
        self.knotc("zone-begin", ZONE)
        for n in add:
            self.knotc("zone-set", ZONE, f"{n}.{ZONE}.", "60", "CNAME", ".")
        for n in remove:
            self.knotc("zone-unset", ZONE, f"{n}.{ZONE}.", "CNAME")
        t = time.monotonic()
        self.knotc("zone-commit", ZONE)
        return t

    def log_text(self):
        with open(os.path.join(self.dir, "knotd.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def policy_yaml(primary, key_file="feed.key", metrics_port=None, tsig=True):
    text = f"""\
lists:
  mic: {rpz_list_yaml(primary, key_file=key_file, tsig=tsig)}
policies:
  - name: everyone
    clients: ["127.0.0.0/8", "::1/128"]
    block: [{{ list: mic, action: nxdomain }}]
"""
    if metrics_port:
        text += f'metrics:\n  listen: "127.0.0.1:{metrics_port}"\n'
    return text


class FakePrimary:
    """A TCP 'primary' that answers every transfer request with a broken stream: `truncated`
    (SOA and records, then the connection closes) or `inconsistent` (the closing SOA's
    serial is not the first's)."""

    def __init__(self, kind):
        self.kind = kind
        self.addr = random_loopback()
        self.port = free_tcp_port(self.addr)
        self.requests = 0

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, self.port))
        self.sock.listen(8)
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        return self

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    n = struct.unpack("!H", conn.recv(2))[0]
                    data = b""
                    while len(data) < n:
                        data += conn.recv(n - len(data))
                    q = dns.message.from_wire(data, ignore_trailing=True)
                except Exception:
                    continue
                self.requests += 1
                r = dns.message.make_response(q)
                soa = f"ns.{ZONE}. admin.{ZONE}. 100 3600 2 600 60"
                r.answer.append(dns.rrset.from_text(f"{ZONE}.", 60, "IN", "SOA", soa))
                for i in range(5):
                    r.answer.append(dns.rrset.from_text(f"n{i}.example.{ZONE}.", 60, "IN",
                                                        "CNAME", "."))
                if self.kind == "inconsistent":
                    r.answer.append(dns.rrset.from_text(
                        f"{ZONE}.", 60, "IN", "SOA", soa.replace(" 100 ", " 101 ")))
                wire = r.to_wire()
                try:
                    conn.sendall(struct.pack("!H", len(wire)) + wire)
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.sock.close()


class RpzSecondaryTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.factor = sanitizer_factor()
        cls.primary = PrimaryKnot.for_class(cls, ["old.example", "keep.example"])
        cls.files = {"feed.key": cls.primary.key_text}
        cls.instances = []
        for _ in range(2):
            mport = free_tcp_port("127.0.0.1")
            s = PolicySinkholed(["127.0.0.1:9"],
                                policy_yaml(cls.primary.where,
                                            metrics_port=mport),
                                cls.files)
            cls.addClassCleanup(s.cleanup)
            s.start(timeout=20)
            s.mport = mport
            cls.instances.append(s)
        t0 = time.monotonic()
        for s in cls.instances:
            cls.wait_until(lambda s=s: cls.blocked(s, "old.example"), 20 * cls.factor)
        cls.axfr_seconds = time.monotonic() - t0
        cls.primary.notify([(s.addr, s.port) for s in cls.instances])

    @staticmethod
    def blocked(s, name):
        return s.ask(CLIENT, f"{name}", "A", timeout=2).rcode == NXDOMAIN

    @staticmethod
    def wait_until(pred, timeout, step=0.01):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return time.monotonic()
            time.sleep(step)
        raise AssertionError(f"not within {timeout} s")

    def test_1_axfr_then_notify_ixfr_on_two_instances(self):
        print(f"\nRPZ secondary: first AXFR to serving on both instances: "
              f"{self.axfr_seconds:.3f} s after READY")
        for s in self.instances:
            self.assertIn(f"AXFR of serial 1 from {self.primary.addr}:{self.primary.port}",
                          s.log_text())
        before = [s.stats() for s in self.instances]
        limit = 2.0 * self.factor
        t_commit = self.primary.change(add=["new.example"])
        times = [self.wait_until(lambda s=s: self.blocked(s, "new.example"), limit) - t_commit
                 for s in self.instances]
        print(f"RPZ secondary: a name added on knotd blocked by both instances "
              f"{', '.join(f'{t:.3f}' for t in times)} s after the commit (limit {limit} s)")
        for s, b in zip(self.instances, before):
            self.assertCountersAtLeast(s, b, notify_accepted=1)
            self.assertRegex(s.log_text(), r"IXFR of serial 2 from ")
            self.assertRegex(s.log_text(), r"list mic: rpz serial 2 serving \(was serial 1; "
                                           r"\d+\.\d+ s after the change was seen\)")
            self.assertTrue(self.blocked(s, "keep.example"))
            # The serial and the time to enforce, in sinkholectl lists and in /metrics.
            mic = ctl_list("mic", sock=s.control_socket)
            self.assertEqual(mic["source"], "rpz")
            self.assertEqual(mic["serial"], 2)
            self.assertIsNotNone(mic["time_to_enforce_s"])
            self.assertLessEqual(mic["time_to_enforce_s"], limit)
            text = self.metrics(s)
            self.assertRegex(text, r'sinkholed_list_serial\{list="mic"\} 2\b')
            m = re.search(r'sinkholed_list_time_to_enforce_seconds\{list="mic"\} ([0-9.e+-]+)',
                          text)
            self.assertIsNotNone(m, "no time-to-enforce metric for list mic")
            self.assertAlmostEqual(float(m.group(1)), mic["time_to_enforce_s"], delta=0.002)
            print(f"RPZ secondary: time to enforce (NOTIFY seen → serving) "
                  f"{mic['time_to_enforce_s']:.3f} s, serial {mic['serial']} (lists and metrics)")
        # A removal unblocks (SERVFAIL: nothing listens upstream).
        t_commit = self.primary.change(remove=["old.example"])
        times = [self.wait_until(lambda s=s: not self.blocked(s, "old.example"), limit) - t_commit
                 for s in self.instances]
        print(f"RPZ secondary: a removal unblocked on both instances "
              f"{', '.join(f'{t:.3f}' for t in times)} s after the commit")
        for s in self.instances:
            self.assertTrue(self.blocked(s, "new.example"))
            self.assertTrue(self.blocked(s, "keep.example"))

    def test_2_unknown_notify_source_refused(self):
        s = self.instances[0]
        before = s.stats()
        q = dns.message.make_query(f"{ZONE}.", "SOA")
        q.set_opcode(dns.opcode.NOTIFY)
        q.flags |= dns.flags.AA
        src = random_loopback()
        while src == self.primary.addr:
            src = random_loopback()
        reply = udp_from(src, s.addr, s.port, q.to_wire())
        self.assertIsNotNone(reply)
        m = dns.message.from_wire(reply)
        self.assertEqual(m.rcode(), dns.rcode.REFUSED)
        self.assertEqual(m.opcode(), dns.opcode.NOTIFY)
        self.assertCounters(s, before, notify_refused=1, notify_accepted=0)
        # From the primary's address but unsigned while the list has a key: refused too.
        before = s.stats()
        reply = udp_from(self.primary.addr, s.addr, s.port, q.to_wire())
        self.assertEqual(dns.message.from_wire(reply).rcode(), dns.rcode.REFUSED)
        self.assertCounters(s, before, notify_refused=1, notify_accepted=0)

    def saved_copy_instance(self, primary, files=None, tsig=True):
        """A sinkholed with its own state_dir, started once against knotd (the copy saved),
        stopped, then started again against `primary` with `files` (e.g. another key)."""
        state = tempfile.mkdtemp(prefix="sinkholed-state-")
        self.addCleanup(shutil.rmtree, state, True)
        mport = free_tcp_port("127.0.0.1")
        s = PolicySinkholed(["127.0.0.1:9"],
                            policy_yaml(self.primary.where,
                                        metrics_port=mport),
                            dict(self.files), server={"state_dir": state})
        self.addCleanup(s.cleanup)
        s.start(timeout=20)
        self.wait_until(lambda: self.blocked(s, "keep.example"), 20 * self.factor)
        s.stop()
        s.policy_yaml = policy_yaml(primary, metrics_port=mport, tsig=tsig)
        s.files.update(files or {})
        s.start(timeout=20)
        # The first query after READY: the saved copy serves at once.
        self.assertTrue(self.blocked(s, "keep.example"))
        s.mport = mport
        return s

    def metrics(self, s):
        return scrape_metrics(s.mport)

    def wait_failure(self, s, reason):
        pat = f'sinkholed_feed_transfer_failures_total{{list="mic",reason="{reason}"}}'
        self.wait_until(lambda: pat in self.metrics(s), 20 * self.factor, step=0.2)

    def test_3_wrong_key_refused_old_copy_serves(self):
        wrong = make_key()
        s = self.saved_copy_instance(self.primary.where,
                                     {"feed.key": wrong})
        self.wait_failure(s, "tsig")
        self.assertRegex(s.log_text(), r"list mic: transfer from .*(NOTAUTH|TSIG)")
        self.assertTrue(self.blocked(s, "keep.example"))

    def test_4_restart_with_primary_down_serves_saved_copy(self):
        dead = random_loopback()
        s = self.saved_copy_instance(f"{dead}:{free_tcp_port(dead)}")
        self.wait_failure(s, "network")
        self.assertTrue(self.blocked(s, "keep.example"))

    def test_5_truncated_and_inconsistent_transfers_refused(self):
        for kind in ("truncated", "inconsistent"):
            fake = FakePrimary(kind).start()
            self.addCleanup(fake.stop)
            s = self.saved_copy_instance(f"{fake.addr}:{fake.port}", tsig=False)
            self.wait_failure(s, kind)
            self.assertGreaterEqual(fake.requests, 1)
            self.assertTrue(self.blocked(s, "keep.example"), kind)
            self.assertFalse(self.blocked(s, "n0.example"), kind)
            s.stop()

    def test_6_reload_to_another_primary_shows_it_and_asks_it_at_once(self):
        """A reload that changes the list's primary: `sinkholectl lists` names the new one
        (not the old), and the new one is asked at once (not at the next SOA refresh, an
        hour away): its failure is counted right after the reload."""
        mport = free_tcp_port("127.0.0.1")
        old = self.primary.where
        s = PolicySinkholed(["127.0.0.1:9"], policy_yaml(old, metrics_port=mport),
                            dict(self.files))
        self.addCleanup(s.cleanup)
        s.start(timeout=20)
        s.mport = mport
        self.wait_until(lambda: self.blocked(s, "keep.example"), 20 * self.factor)
        self.assertEqual(ctl_list("mic", sock=s.control_socket)["origin"], old)
        dead = random_loopback()
        new = f"{dead}:{free_tcp_port(dead)}"
        s.rewrite(policy_yaml(new, metrics_port=mport))
        ok, text = s.reload()
        self.assertTrue(ok, text)
        self.assertEqual(ctl_list("mic", sock=s.control_socket)["origin"], new)
        self.wait_failure(s, "network")
        self.assertRegex(s.log_text(), rf"list mic: transfer from {re.escape(new)}")
        self.assertTrue(self.blocked(s, "keep.example"))  # the saved copy keeps serving


if __name__ == "__main__":
    unittest.main()
