# SPDX-License-Identifier: MIT
"""The bundled example configurations stay valid: `sinkholed --check` accepts each one
(README command (1) starts the daemon on deploy/examples/sinkholed.yaml)."""

import glob
import os
import subprocess
import unittest

SINKHOLED = os.environ.get("SINKHOLED", "sinkholed")
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "examples")


class Examples(unittest.TestCase):
    def test_every_example_passes_check(self):
        # Without `upstreams:` the examples use the nameservers of /etc/resolv.conf, as
        # README command (1) does on a fresh Debian machine.
        files = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            with self.subTest(path=os.path.basename(path)):
                p = subprocess.run([SINKHOLED, "--check", "--config", path],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn(": OK:", p.stdout)

    def test_policy_example_lists_load_without_rejects(self):
        p = subprocess.run([SINKHOLED, "--check", "--config", os.path.join(EXAMPLES, "policy.yaml")],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("list gambling (domains, category gambling): 3 entries, 3 rules, 0 rejected", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
