# SPDX-License-Identifier: MIT
"""One sinkholed per address, and a control socket that exists or no start at all.

A second real sinkholed configured for the address a first one serves (same runtime
directory) exits 1 before binding, naming the address and the first one's PID, and not
one of 20 queries reaches it (the first answers all 20); a wildcard address on the same
port is refused as overlapping; a second one with another runtime directory is refused by
the bind probe. After the first is killed (SIGKILL: no clean-up, the flock dies with it)
a new one starts on the same address at once. An unknown `control.group` and a control
socket whose directory does not exist fail the start (and `--check`) with the reason,
and no directory is created."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, build_query  # noqa: E402
from processes import (SinkholedTestCase, free_port, random_loopback,  # noqa: E402
                       sinkholed_binary, unused_port_upstream)


def run_sinkholed(config_text, *args, timeout=30):
    """Runs a sinkholed with this config in the foreground; (exit code, stderr)."""
    d = tempfile.mkdtemp(prefix="sinkholed-second-")
    try:
        path = os.path.join(d, "sinkholed.yaml")
        with open(path, "w") as f:
            f.write(config_text)
        p = subprocess.run([sinkholed_binary(), *args, "--config", path], capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def config(listen, runtime_dir, upstream, extra=""):
    return (f'server:\n  listen: ["{listen}"]\n  workers: 1\n  runtime_dir: "{runtime_dir}"\n'
            f'upstreams: ["{upstream}"]\n{extra}')


class SingleInstanceTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sinkholed-single-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start_first(self):
        return self.start_sinkholed([self.knot.upstream], ipv6=False,
                                    server={"runtime_dir": os.path.join(self.tmp, "run")})

    def test_a_second_instance_on_the_same_address_exits_1_and_gets_no_query(self):
        first = self.start_first()
        listen = f"{first.addr}:{first.port}"
        code, err = run_sinkholed(config(listen, first.runtime_dir, self.knot.upstream))
        self.assertEqual(code, 1, err)
        self.assertIn(f"{listen} is already served by sinkholed pid {first.proc.pid} (lock "
                      f"{first.runtime_dir}/listen-{first.addr}-{first.port}.lock); not starting",
                      err)
        self.assertNotIn("sinkholed ready", err)
        self.assertNotIn("policies:", err)  # stopped before the lists were even read
        before = first.stats()
        for i in range(20):
            reply = first.udp(build_query("www.example.test", "A", id=0x4000 + i))
            self.assertEqual((reply.id, reply.rcode), (0x4000 + i, NOERROR))
        self.assertCounters(first, before, queries_udp=20)

    def test_a_wildcard_on_the_same_port_overlaps(self):
        first = self.start_first()
        code, err = run_sinkholed(config(f"0.0.0.0:{first.port}", first.runtime_dir,
                                         self.knot.upstream))
        self.assertEqual(code, 1, err)
        self.assertIn(f"0.0.0.0:{first.port} overlaps an address already served on port "
                      f"{first.port} ({first.addr}:{first.port} by sinkholed pid "
                      f"{first.proc.pid}; lock", err)

    def test_another_runtime_directory_is_caught_by_the_bind_probe(self):
        first = self.start_first()
        listen = f"{first.addr}:{first.port}"
        code, err = run_sinkholed(config(listen, os.path.join(self.tmp, "other"),
                                         self.knot.upstream))
        self.assertEqual(code, 1, err)
        self.assertIn(f"{listen} (udp) is already in use by another process; not starting", err)

    def test_after_the_first_is_killed_a_new_one_starts_on_its_address(self):
        first = self.start_first()
        addr, port = first.addr, first.port
        first.proc.kill()  # a crash: nothing cleaned up, the lock file stays
        first.proc.wait(5)
        first.forget_exited()
        self.assertTrue(os.path.exists(os.path.join(first.runtime_dir,
                                                    f"listen-{addr}-{port}.lock")))
        second = self.start_sinkholed([self.knot.upstream], ipv6=False, listen=(addr, port),
                                      server={"runtime_dir": first.runtime_dir})
        reply = second.udp(build_query("www.example.test", "A"))
        self.assertEqual(reply.rcode, NOERROR)
        with open(os.path.join(first.runtime_dir, f"listen-{addr}-{port}.lock")) as f:
            self.assertEqual(f.read().strip(), str(second.proc.pid))

    def test_unknown_control_group_fails_the_start_and_check(self):
        addr = random_loopback()
        run = os.path.join(self.tmp, "run")
        text = config(f"{addr}:{free_port([addr])}", run, self.knot.upstream,
                      "control:\n  group: no-such-group-sinkholed\n")
        for args in ((), ("--check",)):
            code, err = run_sinkholed(text, *args)
            self.assertEqual(code, 1, err)
            self.assertIn("control.group 'no-such-group-sinkholed': no such group", err)
            self.assertNotIn("sinkholed ready", err)

    def test_missing_socket_directory_fails_the_start_and_is_not_created(self):
        addr = random_loopback()
        missing = os.path.join(self.tmp, "typo", "deeper")
        up_addr, up_port = unused_port_upstream()
        text = config(f"{addr}:{free_port([addr])}", os.path.join(self.tmp, "run"),
                      f"{up_addr}:{up_port}",
                      f'control:\n  socket: "{missing}/control.sock"\n')
        for args in ((), ("--check",)):
            code, err = run_sinkholed(text, *args)
            self.assertEqual(code, 1, err)
            self.assertIn(f"control.socket {missing}/control.sock: directory {missing} does not "
                          "exist", err)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "typo")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "run")),
                         "nothing made before the config was found unusable")

    def test_the_runtime_directory_is_made_but_not_its_parents(self):
        addr = random_loopback()
        up_addr, up_port = unused_port_upstream()
        code, err = run_sinkholed(config(f"{addr}:{free_port([addr])}",
                                         os.path.join(self.tmp, "a", "run"),
                                         f"{up_addr}:{up_port}"))
        self.assertEqual(code, 1, err)
        self.assertIn(f"cannot create runtime directory {self.tmp}/a/run (server.runtime_dir)", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "a")))


if __name__ == "__main__":
    unittest.main()
