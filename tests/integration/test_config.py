# SPDX-License-Identifier: MIT
"""Command line and configuration: --check, --version, --help; unknown keys and bad values
rejected at start with `file:line:column: message` and a non-zero exit."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from processes import sinkholed_binary  # noqa: E402

GOOD = """\
server:
  listen: ["127.0.0.1:5353", "[::1]:5353"]
  workers: 1
  udp_payload: 1232
  tcp_idle_timeout: 10s
  tcp_max_connections: 1000
  identity: "ns1.example"
  version: "sinkholed test"
upstreams: ["127.0.0.10:5353"]
upstream:
  timeout: 1500ms
  deadline: 2s
log:
  level: info
"""

# (label, yaml text, 1-based line, 1-based column, a word the message must contain)
BAD = [
    ("unknown top-level key",
     'server:\n  workers: 1\nupstreams: ["127.0.0.10:53"]\nbogus: 1\n', 4, 1, "bogus"),
    ("unknown server key",
     'server:\n  workers: 1\n  listn: ["127.0.0.1:53"]\nupstreams: ["127.0.0.10:53"]\n',
     3, 3, "listn"),
    ("unknown upstream key",
     'upstreams: ["127.0.0.10:53"]\nupstream:\n  timeout: 1s\n  retries: 3\n', 4, 3, "retries"),
    ("workers not a number",
     'server:\n  workers: many\nupstreams: ["127.0.0.10:53"]\n', 2, 12, "workers"),
    ("workers zero",
     'server:\n  workers: 0\nupstreams: ["127.0.0.10:53"]\n', 2, 12, "workers"),
    ("duration without unit",
     'server:\n  tcp_idle_timeout: 10\nupstreams: ["127.0.0.10:53"]\n', 2, 21, "tcp_idle_timeout"),
    ("bad upstream timeout",
     'upstreams: ["127.0.0.10:53"]\nupstream:\n  timeout: fast\n', 3, 12, "timeout"),
    ("bad listen address",
     'server:\n  listen: ["127.0.0.1:5353", "not-an-address"]\nupstreams: ["127.0.0.10:53"]\n',
     2, 30, "not-an-address"),
    ("bad upstream address",
     'upstreams: ["127.0.0.10:99999"]\n', 1, 13, "127.0.0.10:99999"),
    ("udp_payload too big",
     'server:\n  udp_payload: 70000\nupstreams: ["127.0.0.10:53"]\n', 2, 16, "udp_payload"),
    ("bad log level",
     'upstreams: ["127.0.0.10:53"]\nlog:\n  level: chatty\n', 3, 10, "chatty"),
    ("yaml syntax error",
     'server:\n  listen: ["127.0.0.1:53"\nupstreams: ["127.0.0.10:53"]\n', None, None, None),
]


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-config-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.bin = sinkholed_binary()

    def write(self, text, name="sinkholed.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_bin(self, *args, timeout=10):
        p = subprocess.run([self.bin, *args], capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def test_check_good_config(self):
        path = self.write(GOOD)
        code, out = self.run_bin("--config", path, "--check")
        self.assertEqual(code, 0, out)
        code, out = self.run_bin("--check", "--config", path)
        self.assertEqual(code, 0, out)

    def test_check_empty_config_with_upstreams_only(self):
        code, out = self.run_bin("--config", self.write('upstreams: ["127.0.0.10:53"]\n'),
                                 "--check")
        self.assertEqual(code, 0, out)

    def test_bad_configs_rejected_with_position(self):
        for label, text, line, col, word in BAD:
            path = self.write(text, f"bad-{abs(hash(label))}.yaml")
            for extra in (["--check"], []):
                with self.subTest(f"{label} {extra}"):
                    # Without --check the daemon must refuse to start, not serve.
                    code, out = self.run_bin("--config", path, *extra)
                    self.assertNotEqual(code, 0, out)
                    if line is None:
                        self.assertRegex(out, re.escape(path) + r":\d+:\d+: ")
                        continue
                    m = re.search(re.escape(path) + r":(\d+):(\d+): (.*)", out)
                    self.assertIsNotNone(m, f"no file:line:column: message in {out!r}")
                    self.assertEqual((int(m.group(1)), int(m.group(2))), (line, col), out)
                    self.assertIn(word, m.group(3))

    def test_several_errors_all_reported(self):
        path = self.write('server:\n  workerz: 1\n  udp_payload: 1\nupstreams: ["127.0.0.10:53"]\n'
                          'extra: 2\n')
        code, out = self.run_bin("--config", path, "--check")
        self.assertNotEqual(code, 0)
        positions = {(int(a), int(b)) for a, b in re.findall(re.escape(path) + r":(\d+):(\d+): ",
                                                            out)}
        self.assertEqual(positions, {(2, 3), (3, 16), (5, 1)}, out)

    def test_missing_config_file(self):
        path = os.path.join(self.dir, "does-not-exist.yaml")
        code, out = self.run_bin("--config", path, "--check")
        self.assertNotEqual(code, 0)
        self.assertIn(path, out)
        code, out = self.run_bin("--config", path)
        self.assertNotEqual(code, 0)
        self.assertIn(path, out)

    def test_version(self):
        code, out = self.run_bin("--version")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"sinkholed.*\d+\.\d+\.\d+")

    def test_help(self):
        code, out = self.run_bin("--help")
        self.assertEqual(code, 0, out)
        for opt in ("--config", "--check", "--version", "--help"):
            self.assertIn(opt, out)

    def test_unknown_option_rejected(self):
        code, out = self.run_bin("--bogus-option")
        self.assertNotEqual(code, 0, out)
        self.assertIn("--bogus-option", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
