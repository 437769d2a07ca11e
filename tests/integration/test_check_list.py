# SPDX-License-Identifier: MIT
"""`sinkholed --check-list`: what an admin sees before pushing a list — entries, rules,
duplicates, skipped lines by reason, every reject as file:line, Hyperscan errors, and an
exit code a script can gate on (0 clean, 1 rejects, 2 unreadable)."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from processes import REPO, sinkholed_binary  # noqa: E402

FIXTURES = os.path.join(REPO, "tests", "blocklist", "fixtures")


def check_list(*args):
    p = subprocess.run([sinkholed_binary(), *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


class CheckList(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_clean_list_exits_0_with_counts(self):
        path = self.write("clean.txt", "# gambling\ncasino.example\nWWW.Poker.Example.\ncasino.example\n")
        code, out, _ = check_list("--check-list", path, "--format", "domains")
        self.assertEqual(code, 0, out)
        self.assertIn(f"{path} (domains): 2 entries, 2 rules, 1 duplicates, 0 rejected, 4 lines", out)

    def test_rejects_are_reported_by_file_and_line_and_exit_1(self):
        long_label = "a" * 64
        path = self.write("bad.txt", f"ok.example\n{long_label}.example\nbad%char.example\nfine.example\n")
        code, out, _ = check_list("--check-list", path)
        self.assertEqual(code, 1, out)
        self.assertIn("2 entries, 2 rules, 0 duplicates, 2 rejected", out)
        self.assertRegex(out, rf"{path}:2: .*63")
        self.assertRegex(out, rf"{path}:3: .*%")

    def test_bad_pattern_is_reported_by_line_and_others_kept(self):
        path = self.write("p.patterns", "/^casino[0-9]+\\./\n/unbalanced(/\n*.bet*.com\n")
        code, out, _ = check_list("--check-list", path)
        self.assertEqual(code, 1, out)
        self.assertIn(f"{path}:2: bad pattern '/unbalanced(/'", out)
        self.assertIn("(patterns):", out)

    def test_skipped_adblock_rules_are_counted_by_reason(self):
        path = self.write("a.adblock", "! title\n||ads.example^\nexample.com##.banner\n"
                                       "||x.example^$third-party\n@@||ok.example^\n")
        code, out, _ = check_list("--check-list", path)
        self.assertEqual(code, 0, out)
        self.assertIn("skipped cosmetic: 1", out)
        self.assertIn("skipped unsupported option $third-party: 1", out)
        self.assertIn("2 entries, 2 rules", out)

    def test_rpz_ip_triggers_skipped_triggers_and_bad_records_are_reported(self):
        path = os.path.join(FIXTURES, "policy.rpz")
        code, out, _ = check_list("--check-list", path)  # format guessed from .rpz
        self.assertEqual(code, 1, out)
        self.assertIn("(rpz): 13 entries, 14 rules, 2 duplicates, 4 rejected", out)
        self.assertIn("rpz IP triggers: 1 rpz-client-ip, 1 rpz-ip", out)
        for trigger in ("rpz-nsdname", "rpz-nsip"):
            self.assertIn(f"skipped rpz trigger {trigger} not used by a forwarder: 1", out)
        self.assertIn(f"{path}:33: Syntax error", out)

    def test_unreadable_file_exits_2(self):
        code, out, _ = check_list("--check-list", os.path.join(self.dir.name, "missing.txt"))
        self.assertEqual(code, 2, out)
        self.assertIn("cannot read file", out)

    def test_unknown_format_is_an_error(self):
        path = self.write("x.txt", "a.example\n")
        code, _, err = check_list("--check-list", path, "--format", "csv")
        self.assertEqual(code, 2)
        self.assertIn("unknown list format 'csv'", err)


if __name__ == "__main__":
    unittest.main()
