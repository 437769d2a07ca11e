# SPDX-License-Identifier: MIT
"""The policy part of the configuration (lists, actions, policies, default_policy):
`sinkholed --check` validates the config and reads every list (the real gambling lists
among them), prints `F: OK: ...; N list(s), M entries, K action(s), P polic(y|ies)` and
one line per list, and exits 0; a rejected list line is only a warning. Every error class
prints `file:line:column: message` at the offending token and exits 1 — with --check and
when starting the daemon: unknown key, wrong type, unknown list or action referenced, bad
CIDR, duplicate names (policy, list, action, client prefix), unreadable list file, action
parameters that do not fit the type (a: on nxdomain, cname without target, a: not-an-ip,
…), unknown default_policy."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from policy_harness import blocklist_path  # noqa: E402
from processes import free_port, random_loopback, sinkholed_binary  # noqa: E402

UT1 = blocklist_path("ut1/gambling.domains")
SB = blocklist_path("stevenblack/gambling-only-domains.txt")
# Entry counts of the real lists (../shared/data/blocklists/README.md, checked by SHA256SUMS).
UT1_ENTRIES = 32247
SB_ENTRIES = 6212

MARK = "@@"  # in a bad config: where the error must be reported (removed before writing)

GOOD = f"""\
server:
  listen: ["LISTEN"]
  workers: 1
upstreams: ["127.0.0.10:5353"]
lists:
  gambling: {{ path: "{UT1}", category: gambling }}
  sb: {{ path: "{SB}", category: gambling, action: warn }}
  local: {{ path: local.txt }}
  ads: {{ path: lists/ads.adblock, format: adblock, category: ads }}
  rpz: {{ path: zone.rpz, format: rpz }}
actions:
  warn: {{ type: sinkhole, a: [203.0.113.10, 203.0.113.11], aaaa: "2001:db8::10", ttl: 300,
          soa_ttl: 60, ede: censored,
          ede_text: "Blocked (list {{list}}, category {{category}}, line {{line}})" }}
  nx: {{ type: nxdomain, soa_ttl: 60, ede: filtered }}
  redirect: {{ type: cname, target: warning.example.test, ttl: 60 }}
  monitor: {{ type: passthru, log: true }}
policies:
  - name: subscribers
    clients: [127.0.0.2/32, "::1/128"]
    allow: [local]
    block:
      - {{ list: gambling, action: nx }}
      - sb
      - {{ list: ads }}
  - name: business
    clients: ["10.0.0.0/8", "2001:db8::/32"]
    block: [rpz, {{ list: ads, action: redirect }}]
default_policy: refused
"""

FILES = {
    "local.txt": "# allowed here\nfriends.example\nschool.example\n",
    "lists/ads.adblock": "! ads\n||ads.example^\n||tracker.example^\n@@||ok.ads.example^\n",
    "zone.rpz": ("$TTL 300\n@ SOA localhost. root.localhost. 1 43200 3600 86400 300\n"
                 "  NS localhost.\nbad.example CNAME .\n*.bad.example CNAME .\n"
                 "drop.example CNAME rpz-drop.\n"),
}

# (label, text in GOOD, replacement with MARK before the reported token, word in message)
BAD = [
    # unknown keys
    ("unknown key in a list", "local: { path: local.txt }",
     "local: { path: local.txt, @@fromat: domains }", "fromat"),
    ("unknown key in an action", "nx: { type: nxdomain, soa_ttl: 60,",
     "nx: { type: nxdomain, @@colour: red, soa_ttl: 60,", "colour"),
    ("unknown key in a policy", "    allow: [local]\n", "    allow: [local]\n    @@blok: [sb]\n",
     "blok"),
    ("unknown key in a block rule", "      - { list: gambling, action: nx }",
     "      - { list: gambling, @@acton: nx }", "acton"),
    # wrong types
    ("clients not a list", 'clients: ["10.0.0.0/8", "2001:db8::/32"]',
     "clients: @@10.0.0.0/8", "clients"),
    ("ttl not a number", "redirect: { type: cname, target: warning.example.test, ttl: 60 }",
     "redirect: { type: cname, target: warning.example.test, ttl: @@soon }", "ttl"),
    ("soa_ttl negative", "nx: { type: nxdomain, soa_ttl: 60,",
     "nx: { type: nxdomain, soa_ttl: @@-5,", "soa_ttl"),
    ("log not a boolean", "monitor: { type: passthru, log: true }",
     "monitor: { type: passthru, log: @@maybe }", "log"),
    ("block not a list", "    block: [rpz, { list: ads, action: redirect }]",
     "    block: @@rpz", "block"),
    ("path not a scalar", "local: { path: local.txt }", "local: { path: @@[local.txt] }",
     "path"),
    ("unknown list format", "format: adblock,", "format: @@adblocks,", "adblocks"),
    ("unknown action type", "monitor: { type: passthru, log: true }",
     "monitor: { type: @@monitor, log: true }", "monitor"),
    ("ede not a known code", "nx: { type: nxdomain, soa_ttl: 60, ede: filtered }",
     "nx: { type: nxdomain, soa_ttl: 60, ede: @@loud }", "loud"),
    ("ede_text unknown placeholder",
     'ede_text: "Blocked (list {list}, category {category}, line {line})"',
     'ede_text: @@"Blocked (list {list}, category {category}, line {lien})"', "lien"),
    # unknown references
    ("unknown list in block", "      - sb\n", "      - @@sbb\n", "sbb"),
    ("unknown list in block map", "[rpz, { list: ads, action: redirect }]",
     "[rpz, { list: @@adz, action: redirect }]", "adz"),
    ("unknown list in allow", "    allow: [local]", "    allow: [@@locl]", "locl"),
    ("unknown action in a rule", "      - { list: gambling, action: nx }",
     "      - { list: gambling, action: @@nxx }", "nxx"),
    ("unknown default action of a list", "category: gambling, action: warn }",
     "category: gambling, action: @@warm }", "warm"),
    ("unknown default_policy", "default_policy: refused", "default_policy: @@guests", "guests"),
    # CIDRs
    ("prefix too long", "clients: [127.0.0.2/32,", "clients: [@@127.0.0.2/33,", "127.0.0.2/33"),
    ("bad IPv4 address", 'clients: ["10.0.0.0/8",', 'clients: [@@"300.0.0.0/8",', "300.0.0.0"),
    ("IPv6 prefix too long", '"::1/128"]', '@@"::1/129"]', "::1/129"),
    ("not a CIDR", 'clients: ["10.0.0.0/8",', 'clients: [@@"subscribers",', "subscribers"),
    ("prefix length not a number", 'clients: ["10.0.0.0/8",', 'clients: [@@"10.0.0.0/x",',
     "10.0.0.0/x"),
    # duplicates
    ("duplicate policy name", "  - name: business", "  - name: @@subscribers", "subscribers"),
    ("duplicate client prefix in two policies", '"2001:db8::/32"]',
     '"2001:db8::/32", @@"::1/128"]', "::1/128"),
    ("duplicate action name", "  monitor: { type: passthru, log: true }",
     "  monitor: { type: passthru, log: true }\n  @@nx: { type: nodata }", "nx"),
    ("duplicate list name", "  rpz: { path: zone.rpz, format: rpz }",
     "  rpz: { path: zone.rpz, format: rpz }\n  @@local: { path: zone.rpz, format: rpz }",
     "local"),
    # unreadable list files
    ("missing list file", "local: { path: local.txt }", "local: { path: @@missing.txt }",
     "missing.txt"),
    ("list path is a directory", "local: { path: local.txt }", "local: { path: @@lists }",
     "lists"),
    # action parameters that do not fit the type
    ("a on an nxdomain action", "nx: { type: nxdomain, soa_ttl: 60,",
     "nx: { type: nxdomain, a: @@203.0.113.1, soa_ttl: 60,", "'a'"),
    ("target on a sinkhole", 'aaaa: "2001:db8::10", ttl: 300,',
     'aaaa: "2001:db8::10", ttl: 300, target: @@warning.example.test,', "target"),
    ("ttl on a refused action", "  monitor: { type: passthru, log: true }",
     "  monitor: { type: passthru, log: true }\n  ref: { type: refused, ttl: @@60 }", "ttl"),
    ("soa_ttl on a cname", "target: warning.example.test, ttl: 60 }",
     "target: warning.example.test, ttl: 60, soa_ttl: @@60 }", "soa_ttl"),
    ("cname without target", "redirect: { type: cname, target: warning.example.test, ttl: 60 }",
     "redirect: @@{ type: cname, ttl: 60 }", "target"),
    ("cname target not a host name", "target: warning.example.test,",
     "target: @@\"warning..example.test\",", "target"),
    ("a not an IP", "a: [203.0.113.10, 203.0.113.11]", "a: [203.0.113.10, @@not-an-ip]",
     "not-an-ip"),
    ("aaaa holding an IPv4 address", 'aaaa: "2001:db8::10"', "aaaa: @@203.0.113.12",
     "203.0.113.12"),
    ("sinkhole without an address",
     '  monitor: { type: passthru, log: true }',
     '  monitor: { type: passthru, log: true }\n  hole: @@{ type: sinkhole, ttl: 60 }',
     "sinkhole"),
]


def bad_config(old, new):
    assert GOOD.count(old) == 1, f"{old!r} must occur once in GOOD"
    text = GOOD.replace(old, new)
    pos = text.index(MARK)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return text.replace(MARK, "", 1), line, col


class PolicyConfigTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sinkholed-polcfg-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.bin = sinkholed_binary()
        for rel, text in FILES.items():
            path = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        addr = random_loopback()
        self.listen = f"{addr}:{free_port([addr])}"

    def write(self, text, name="sinkholed.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text.replace("LISTEN", self.listen))
        return path

    def run_bin(self, *args, timeout=30):
        try:
            p = subprocess.run([self.bin, *args], capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:  # the daemon started: the config was taken
            out = b"".join(x for x in (e.stdout, e.stderr) if x).decode(errors="replace")
            return None, f"still running after {timeout}s (config accepted):\n{out}"
        return p.returncode, p.stdout + p.stderr

    # -- good ---------------------------------------------------------------------------
    def test_check_prints_summary_and_lists(self):
        path = self.write(GOOD)
        code, out = self.run_bin("--check", "--config", path)
        self.assertEqual(code, 0, out)
        m = re.search(re.escape(path) + r": OK: 1 listen address\(es\), 1 upstream\(s\); "
                      r"(\d+) list\(s\), (\d+) entries, (\d+) action\(s\), (\d+) polic(y|ies)\n",
                      out)
        self.assertIsNotNone(m, out)
        lists, entries, actions, policies = (int(m.group(i)) for i in range(1, 5))
        self.assertEqual(lists, 5, out)
        self.assertEqual(policies, 2, out)
        self.assertEqual(m.group(5), "ies", out)
        # 4 defined + the built-ins nxdomain, nodata, refused, drop, passthru (and the RPZ
        # ones); `nx` is no built-in.
        self.assertGreaterEqual(actions, 4 + 5, out)
        per_list = {}
        for name, fmt, cat, n in re.findall(
                r"^\s+list (\S+) \((\w+), category (\S+)\): (\d+) entries", out, re.M):
            per_list[name] = (fmt, cat, int(n))
        self.assertEqual(per_list["gambling"], ("domains", "gambling", UT1_ENTRIES), out)
        self.assertEqual(per_list["sb"], ("domains", "gambling", SB_ENTRIES), out)
        self.assertEqual(per_list["local"], ("domains", "local", 2), out)
        self.assertEqual(per_list["ads"][:2], ("adblock", "ads"), out)
        self.assertEqual(per_list["rpz"][:2], ("rpz", "rpz"), out)
        self.assertEqual(set(per_list), {"gambling", "sb", "local", "ads", "rpz"}, out)
        self.assertEqual(entries, sum(v[2] for v in per_list.values()), out)
        self.assertGreater(entries, UT1_ENTRIES + SB_ENTRIES, out)

    def test_check_singular_policy(self):
        text = GOOD[:GOOD.index("  - name: business")].replace(
            "      - { list: ads }\n", "      - { list: ads }\n") + "default_policy: refused\n"
        code, out = self.run_bin("--check", "--config", self.write(text))
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"; 5 list\(s\), \d+ entries, \d+ action\(s\), 1 policy\n")

    def test_rejected_list_line_is_a_warning(self):
        # 1 line of 3 rejected: past the default max_reject_ratio (1%), which the list
        # raises (test_fault_lists.py has the refusals).
        path = self.write(GOOD.replace("local: { path: local.txt }",
                                       "local: { path: local.txt, max_reject_ratio: 50% }"))
        with open(os.path.join(self.dir, "local.txt"), "a") as f:
            f.write("not a domain name!\n")
        code, out = self.run_bin("--check", "--config", path)
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"local\.txt:4\b", out)
        self.assertRegex(out, r"list local \(domains, category local\): 2 entries, \d+ rules, "
                              r"1 rejected lines", out)

    def test_relative_list_paths_are_relative_to_the_config(self):
        path = self.write(GOOD)
        cwd = tempfile.mkdtemp(prefix="sinkholed-cwd-")
        self.addCleanup(shutil.rmtree, cwd, True)
        p = subprocess.run([self.bin, "--check", "--config", path], capture_output=True,
                           text=True, timeout=30, cwd=cwd)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    # -- bad ------------------------------------------------------------------------------
    def test_each_error_class_names_file_line_column(self):
        for i, (label, old, new, word) in enumerate(BAD):
            text, line, col = bad_config(old, new)
            path = self.write(text, f"bad-{i}.yaml")
            with self.subTest(label):
                code, out = self.run_bin("--check", "--config", path)
                self.assertEqual(code, 1, f"--check must exit 1:\n{out}")
                self.assertNotIn(": OK:", out)
                found = re.findall(re.escape(path) + r":(\d+):(\d+): (.*)", out)
                self.assertTrue(found, f"no {path}:line:column: message in:\n{out}")
                self.assertIn((line, col), [(int(a), int(b)) for a, b, _ in found],
                              f"want {line}:{col}\n{text.splitlines()[line - 1]}\n{out}")
                msg = next(m for a, b, m in found if (int(a), int(b)) == (line, col))
                self.assertIn(word, msg, out)

    def test_daemon_refuses_to_start_on_errors(self):
        picks = ["unknown key in a list", "unknown action in a rule", "bad IPv4 address",
                 "duplicate policy name", "missing list file", "a on an nxdomain action",
                 "cname without target", "a not an IP", "duplicate list name"]
        by_label = {b[0]: b for b in BAD}
        for label in picks:
            _, old, new, word = by_label[label]
            text, line, col = bad_config(old, new)
            path = self.write(text, "start.yaml")
            with self.subTest(label):
                code, out = self.run_bin("--config", path, timeout=3)
                self.assertEqual(code, 1, out)
                self.assertIn(f"{path}:{line}:{col}: ", out)
                self.assertIn("configuration rejected", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
