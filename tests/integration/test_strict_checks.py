# SPDX-License-Identifier: MIT
"""One format rule and the strict checks, with the real binaries:

  - `sinkholed --check-list` without `--format` and a list without `format:` in the config
    choose the same format, from the content (the real blocklistproject scam list, a hosts
    file, under a name with no hosts extension), and say so;
  - `sinkholed --check` prints each strict check's warning at its file:line:column with a
    hint and exits 0; `--check --strict` exits 1 with them as errors; a clean config passes
    `--check --strict`; an empty list fails `--check` (the list guard);
  - the daemon started with that hosts file (no `format:`) blocks its names; `sinkholectl
    lists` shows "hosts (inferred from content)"; a list of garbage at start gives one
    summary line and at most 20 warning lines, not one per rejected line;
  - a reload of a config that trips the checks answers "warnings: N" with the texts, and
    `sinkholectl status` (text and --json) shows them.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import sinkholectl  # noqa: E402
from dnswire import NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase, blocklist_path, list_names  # noqa: E402
from processes import sinkholed_binary  # noqa: E402

SCAM = "blocklistproject/scam.hosts"
CLIENT = "127.0.0.2"


def run(*args, timeout=120):
    p = subprocess.run([sinkholed_binary(), *args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def scam_text():
    with open(blocklist_path(SCAM), encoding="utf-8") as f:
        return f.read()


# Every strict check tripped once (the list files are written by the test). The needles
# locate the node each warning must point at.
TRIPPED = """\
server:
  listen: ["127.0.0.1:5399", "0.0.0.0:5399"]
  allow_query: ["10.0.0.0/8", "0.0.0.0/0"]
upstreams: ["192.0.2.53", "127.0.0.1:5399"]
lists:
  scam: { path: scam.txt }
  tld: { path: tld.txt }
  spare: { path: spare.txt }
actions:
  page: { type: sinkhole, a: 192.0.2.1 }
policies:
  - name: subscribers
    clients: ["10.0.0.0/8"]
    allow: [tld]
    block: [scam, tld, scam]
  - name: nobody
    block: [scam]
  - name: wide
    clients: ["192.168.0.0/24"]
    block: [tld]
  - name: narrow
    clients: ["192.168.0.0/25", "192.168.0.128/25"]
    block: [tld]
"""

# (check key, needle in TRIPPED whose position the warning names, nth occurrence, words)
EXPECTED = [
    ("policy-no-clients", "nobody", 1, "policy 'nobody' has no clients"),
    ("allow-and-block", "tld", 4, "list 'tld' is in both allow (line 14) and block"),
    ("duplicate-rule", "scam]", 1, "list 'scam' is twice in policy 'subscribers'.block"),
    ("duplicate-policy", "narrow", 1, "same allow and block rules as policy 'wide'"),
    ("policy-never-matches", "wide", 1, "policy 'wide' can never match"),
    ("unused-list", "spare", 1, "list 'spare' is not used by any policy"),
    ("unused-action", "page", 1, "action 'page' is not used"),
    ("forwards-to-self", '"127.0.0.1:5399"]\nlists', 1,
     "upstream 127.0.0.1:5399 is our own listen address 127.0.0.1:5399"),
    ("open-resolver", '"0.0.0.0/0"', 1, "admits every address (0.0.0.0/0)"),
]


def position(text, needle, nth):
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, col


class CheckCommandTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-strict-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def files(self):
        self.write("scam.txt", scam_text())
        self.write("tld.txt", "casino.example\nvn\ncom.vn\n")
        self.write("spare.txt", "spare.example\n")

    def test_check_list_infers_hosts_from_content(self):
        path = self.write("scam.txt", scam_text())
        code, out, _ = run("--check-list", path)
        self.assertEqual(code, 0, out)
        self.assertIn(f"{path} (hosts): 8527 entries", out)
        self.assertRegex(out, r"  format: hosts \(inferred from content: 200 of 200 sampled "
                              r"lines are `address name`\)\n")

    def test_each_check_is_a_warning_at_its_position_and_strict_makes_it_an_error(self):
        self.files()
        cfg = self.write("sinkholed.yaml", TRIPPED)
        code, out, err = run("--check", "-c", cfg)
        self.assertEqual(code, 0, out + err)
        for key, needle, nth, words in EXPECTED:
            line, col = position(TRIPPED, needle, nth)
            with self.subTest(key):
                self.assertRegex(err, rf"warning: {re.escape(cfg)}:{line}:{col}: "
                                      rf"[^\n]*{re.escape(words)}[^\n]*\(hint: [^\n]+\) "
                                      rf"\[{key}\]\n")
        # The public-suffix entries point into the list file.
        tld = os.path.join(self.dir, "tld.txt")
        self.assertIn(f"warning: {tld}:2: list 'tld' entry 'vn' is a top-level domain", err)
        self.assertIn(f"warning: {tld}:3: list 'tld' entry 'com.vn' is a public suffix", err)
        # The daemon's own summary says how it read the scam list.
        self.assertRegex(out, r"list scam \(hosts, category scam\): 8527 entries")
        self.assertIn("format: hosts (inferred from content", out)
        self.assertIn("11 warnings from the strict checks (--strict makes them errors)", out)

        code, out, err = run("--check", "--strict", "-c", cfg)
        self.assertEqual(code, 1, out + err)
        self.assertIn("configuration rejected (11 errors)", err)
        self.assertIn("[open-resolver]", err)
        self.assertNotIn(": OK:", out)

        # allow_suffix: true on the list accepts its suffixes on purpose.
        code, _, err = run("--check", "-c", self.write(
            "suffix.yaml", TRIPPED.replace("{ path: tld.txt }",
                                           "{ path: tld.txt, allow_suffix: true }")))
        self.assertEqual(code, 0, err)
        self.assertNotIn("[public-suffix]", err)
        self.assertIn("[unused-list]", err)

    def test_clean_config_passes_strict(self):
        self.files()
        cfg = self.write("clean.yaml", """\
server:
  listen: ["127.0.0.1:5399"]
upstreams: ["192.0.2.53"]
lists:
  scam: { path: scam.txt }
policies:
  - name: subscribers
    clients: ["10.0.0.0/8"]
    block: [scam]
""")
        code, out, err = run("--check", "--strict", "-c", cfg)
        self.assertEqual(code, 0, out + err)
        self.assertNotIn("warning", err)
        self.assertIn(": OK:", out)
        # --strict means nothing without --check: a usage error, not a start.
        code, out, err = run("--strict", "-c", cfg, timeout=30)
        self.assertNotEqual(code, 0, out + err)
        self.assertIn("--check", err)

    def test_empty_or_refused_list_fails_check(self):
        self.write("empty.txt", "# nothing here\n")
        self.write("garbage.txt", "".join(f"not a name {i}\n" for i in range(50)) + "ok.example\n")
        for name, why in (("empty.txt", "0 valid entries of 1 line"),
                          ("garbage.txt", "50 of 51 entry lines rejected")):
            cfg = self.write("cfg.yaml", f"""\
upstreams: ["192.0.2.53"]
lists:
  l: {{ path: {name} }}
policies:
  - name: p
    clients: ["10.0.0.0/8"]
    block: [l]
""")
            code, out, err = run("--check", "-c", cfg)
            with self.subTest(name):
                self.assertEqual(code, 1, out + err)
                self.assertIn(why, err)
                self.assertIn("refusing to publish", err)


class DaemonTest(PolicyTestCase):
    def setUp(self):
        self.sock_dir = tempfile.mkdtemp(prefix="sinkholed-ctl-")
        self.addCleanup(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "control.sock")

    def yaml(self, extra=""):
        return f"""\
control:
  socket: "{self.sock}"
  watch_files: false
lists:
  scam: {{ path: scam.txt }}
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block: [{{ list: scam, action: nxdomain }}]
{extra}"""

    def test_hosts_without_format_blocks_and_reload_reports_warnings(self):
        # Nothing listens on the discard port: a name not blocked gets SERVFAIL.
        s = self.start_policy_sinkholed(["127.0.0.1:9"], self.yaml(),
                                        {"scam.txt": scam_text()})
        names = list_names(SCAM, "hosts")
        for name in (names[0], names[len(names) // 2], names[-1]):
            with self.subTest(name):
                self.assertEqual(s.ask(CLIENT, name).rcode, NXDOMAIN)
                # kdig, as an operator would check it.
                r = s.kdig_from(CLIENT, "www." + name)
                self.assertEqual(r.rcode, NXDOMAIN)
        log = s.log_text()
        self.assertRegex(log, r"list scam: 8527 entries, 0 rejected lines, format hosts "
                              r"\(inferred from content: ")
        p = sinkholectl(self.sock, "lists")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("hosts (inferred from content)", p.stdout)
        doc = json.loads(sinkholectl(self.sock, "lists", "--json").stdout)
        self.assertEqual(doc[0]["format"], "hosts")
        self.assertEqual(doc[0]["format_source"], "content")
        p = sinkholectl(self.sock, "status")
        self.assertNotIn("warnings:", p.stdout)

        # A config that trips two checks: the reload succeeds and says so.
        s.rewrite(self.yaml("  - name: nobody\n    block: [scam]\n"
                            "actions:\n  page: { type: sinkhole, a: 192.0.2.1 }\n"))
        p = sinkholectl(self.sock, "reload")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"^ok: generation 2 in service")
        self.assertIn("warnings: 2\n", p.stdout)
        self.assertRegex(p.stdout, r"  \S+sinkholed\.yaml:\d+:\d+: policy 'nobody' has no "
                                   r"clients[^\n]*\[policy-no-clients\]\n")
        self.assertIn("action 'page' is not used", p.stdout)
        self.assertIn("reload: ", s.log_text())
        self.assertRegex(s.log_text(), r"reload: \S+: action 'page' is not used")
        p = sinkholectl(self.sock, "status")
        self.assertIn("warnings: 2\n", p.stdout)
        self.assertIn("[unused-action]", p.stdout)
        doc = json.loads(sinkholectl(self.sock, "status", "--json").stdout)
        self.assertEqual(len(doc["warnings"]), 2)
        doc = json.loads(sinkholectl(self.sock, "reload", "--json").stdout)
        self.assertEqual(len(doc["result"]["warnings"]) if "result" in doc else
                         len(doc["warnings"]), 2)

    def test_startup_warnings_are_summarised_and_capped(self):
        garbage = "".join(f"not a name {i}\n" for i in range(500))
        s = self.start_policy_sinkholed(
            ["127.0.0.1:9"],
            self.yaml().replace("{ path: scam.txt }",
                                "{ path: scam.txt }\n  junk: { path: junk.txt, "
                                "max_reject_ratio: 100% }")
            .replace("block: [{ list: scam, action: nxdomain }]",
                     "block: [{ list: scam, action: nxdomain }, junk]"),
            {"scam.txt": scam_text(), "junk.txt": "junk.example\n" + garbage})
        log = s.log_text()
        junk = os.path.join(s.dir, "junk.txt")
        # Words are no kind of list line: domains by default, and said so.
        self.assertIn(f"warning: list junk: 500 lines rejected (first at {junk}:2), read as "
                      f"domains (default)", log)
        # The summary, then 19 of the 100 rejected lines kept, then the count of the rest
        # (81 lines and "400 more rejected lines").
        warnings = [line for line in log.splitlines() if line.startswith("warning: ")]
        self.assertEqual(len(warnings), 21, "\n".join(warnings))
        self.assertIn("warning: 82 more warnings", log)
        self.assertIn("list junk: 1 entries, 500 rejected lines, format domains (default: no "
                      "kind of line is a majority of 200)", log)
        self.assertEqual(s.ask(CLIENT, "junk.example").rcode, NXDOMAIN)


if __name__ == "__main__":
    unittest.main()
