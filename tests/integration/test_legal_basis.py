# SPDX-License-Identifier: MIT
"""The legal basis of a list (`basis: { authority, reference, date, url }`) with the real
sinkholed: the EDE text of a blocked answer names the authority and the reference (kdig,
and dnspython for a UTF-8 authority); `sinkholectl explain` (text and --json) and the
metrics server's `/explain` (the warning page's source) show the four fields; `sinkholectl
lists` (text and --json) shows them per list; the blocked-query line carries authority and
reference in text (quoted) and JSON Lines, and a list without a basis adds neither; a
reload that changes the reference changes the EDE text at once; a bad date or url fails
`--check` and the start at its file:line:column, and fails a reload that keeps the old
basis serving."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_lists, sinkholectl  # noqa: E402
from policy_harness import PolicySinkholed, PolicyTestCase  # noqa: E402
from processes import free_tcp_port, sinkholed_binary, unused_port_upstream  # noqa: E402

CLIENT = "127.0.0.2"
WARNING = "203.0.113.10"
AUTHORITY = "Ministry of Information and Communications"
AUTHORITY_VI = "Bộ Thông tin và Truyền thông"
REFERENCE = "Decision 1234/QD-BTTTT"
DATE = "2024-11-09"
URL = "https://regulator.example/decisions/1234"

FILES = {
    "mic.txt": "casino.basis.test\n",
    "mic-vi.txt": "bet.basis.test\n",
    "plain.txt": "ads.basis.test\n",
}


def policy(metrics_port, reference=REFERENCE, date=DATE, url=URL):
    return f"""\
metrics:
  listen: "127.0.0.1:{metrics_port}"
lists:
  mic:
    path: mic.txt
    category: regulator
    basis:
      authority: "{AUTHORITY}"
      reference: "{reference}"
      date: {date}
      url: "{url}"
  mic-vi:
    path: mic-vi.txt
    category: regulator
    basis: {{ authority: "{AUTHORITY_VI}", reference: "QĐ 12" }}
  plain: {{ path: plain.txt, category: ads }}
actions:
  legal:
    type: sinkhole
    a: {WARNING}
    ede: censored
    ede_text: "Blocked by {{authority}} under {{reference}} (list {{list}})"
policies:
  - name: subscribers
    clients: ["{CLIENT}/32"]
    block:
      - {{ list: mic, action: legal }}
      - {{ list: mic-vi, action: legal }}
      - {{ list: plain, action: legal }}
"""


class LegalBasisTest(PolicyTestCase):
    def setUp(self):
        self.metrics_port = free_tcp_port("127.0.0.1")
        self.upstream = "%s:%d" % unused_port_upstream()

    def start(self, log_format="text"):
        self.s = self.start_policy_sinkholed(
            [self.upstream], policy(self.metrics_port), FILES,
            log={"blocked_queries": True, "blocked_queries_format": log_format})
        return self.s

    def ctl(self, *args, expect=0):
        p = sinkholectl(self.s.control_socket, *args)
        self.assertEqual(p.returncode, expect, f"sinkholectl {args}: {p.stdout}{p.stderr}")
        return p

    def explain_http(self, name, client=CLIENT):
        url = f"http://127.0.0.1:{self.metrics_port}/explain?name={name}&client={client}"
        with urllib.request.urlopen(url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            return json.loads(r.read().decode())

    def blocked_lines(self, before, count, needle):
        """The blocked-query lines logged since `before` holding `needle`, once `count`."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [l for l in self.s.log_since(before).splitlines() if needle in l]
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        self.fail(f"{count} line(s) with {needle!r} not logged:\n{self.s.log_since(before)}")

    def test_ede_text_names_the_authority_and_reference(self):
        s = self.start()
        r = s.kdig_from(CLIENT, "www.casino.basis.test", "A", "+edns")
        self.assertEqual(r.rcode, 0, r.stdout)
        self.assertEqual(r.values("A"), [WARNING])
        self.assertEde(r, 16, f"Blocked by {AUTHORITY} under {REFERENCE} (list mic)")
        # UTF-8 goes out byte for byte (dnspython reads the EXTRA-TEXT as sent).
        vi = s.ask(CLIENT, "bet.basis.test", edns=True)
        self.assertEde(vi, 16, f"Blocked by {AUTHORITY_VI} under QĐ 12 (list mic-vi)")
        # A list without a basis: the placeholders are empty, the rest of the text stays.
        self.assertEde(s.ask(CLIENT, "ads.basis.test", edns=True), 16,
                       "Blocked by  under  (list plain)")

    def test_explain_and_the_warning_pages_explain_show_the_basis(self):
        self.start()
        p = self.ctl("explain", "--client", CLIENT, "www.casino.basis.test", expect=3)
        self.assertIn(f"  legal basis: {AUTHORITY}, {REFERENCE} of {DATE} <{URL}>\n", p.stdout)
        self.assertIn(f'EDE text "Blocked by {AUTHORITY} under {REFERENCE} (list mic)"',
                      p.stdout)
        basis = {"authority": AUTHORITY, "reference": REFERENCE, "date": DATE, "url": URL}
        doc = json.loads(self.ctl("explain", "--json", "--client", CLIENT,
                                  "www.casino.basis.test", expect=3).stdout)
        self.assertEqual(doc["verdict"], "blocked")
        self.assertEqual(doc["basis"], basis)
        # Without --client: every policy's verdict, the basis under the one that blocks.
        p = self.ctl("explain", "www.casino.basis.test", expect=3)
        self.assertIn(f"legal basis: {AUTHORITY}, {REFERENCE} of {DATE} <{URL}>", p.stdout)
        # /explain, what the warning page reads: the same basis, no file path.
        doc = self.explain_http("www.casino.basis.test")
        self.assertEqual(doc["verdict"], "blocked")
        self.assertEqual(doc["basis"], basis)
        self.assertEqual(doc["ede_text"], f"Blocked by {AUTHORITY} under {REFERENCE} (list mic)")
        self.assertNotIn("file", doc)
        doc = self.explain_http("bet.basis.test")
        self.assertEqual(doc["basis"], {"authority": AUTHORITY_VI, "reference": "QĐ 12",
                                        "date": "", "url": ""})
        # A list without a basis, and a name no list holds: no basis at all.
        self.assertNotIn("basis", self.explain_http("ads.basis.test"))
        self.assertNotIn("basis", self.explain_http("news.basis.test"))
        p = self.ctl("explain", "--client", CLIENT, "ads.basis.test", expect=3)
        self.assertNotIn("legal basis", p.stdout)

    def test_lists_show_the_basis(self):
        self.start()
        text = self.ctl("lists").stdout
        rows = {l.split()[0]: l for l in text.splitlines() if l.strip()}
        self.assertTrue(rows["mic"].endswith(f"  basis: {AUTHORITY}, {REFERENCE} of {DATE} <{URL}>"),
                        text)
        self.assertTrue(rows["mic-vi"].endswith(f"  basis: {AUTHORITY_VI}, QĐ 12"), text)
        self.assertNotIn("basis", rows["plain"])
        doc = ctl_lists(self.s.control_socket)
        self.assertEqual(doc["mic"]["basis"], {"authority": AUTHORITY, "reference": REFERENCE,
                                               "date": DATE, "url": URL})
        self.assertIsNone(doc["plain"]["basis"])

    def test_blocked_query_log_carries_authority_and_reference(self):
        s = self.start()
        before = s.log_size()
        s.ask(CLIENT, "www.casino.basis.test")
        s.ask(CLIENT, "ads.basis.test")
        line = self.blocked_lines(before, 1, "list=mic ")[0]
        self.assertIn(f'line=1 authority="{AUTHORITY}" reference="{REFERENCE}"', line)
        plain = self.blocked_lines(before, 1, "list=plain ")[0]
        self.assertNotIn("authority=", plain)
        self.assertNotIn("reference=", plain)
        # The JSON Lines spelling (log.blocked_queries_format is live).
        s.log_opts["blocked_queries_format"] = "json"
        s.rewrite()
        ok, out = s.reload()
        self.assertTrue(ok, out)
        before = s.log_size()
        s.ask(CLIENT, "bet.basis.test")
        s.ask(CLIENT, "ads.basis.test")
        lines = self.blocked_lines(before, 2, '"event":"blocked"')
        docs = {}
        for l in lines:
            doc = json.loads(l[l.index("{"):])
            docs[doc["list"]] = doc
        self.assertEqual(docs["mic-vi"]["authority"], AUTHORITY_VI)
        self.assertEqual(docs["mic-vi"]["reference"], "QĐ 12")
        self.assertNotIn("authority", docs["plain"])
        self.assertNotIn("reference", docs["plain"])

    def test_a_reload_changes_the_basis_and_a_bad_one_keeps_the_old(self):
        s = self.start()
        s.rewrite(policy(self.metrics_port, reference="Decision 99/QD-BTTTT"))
        ok, out = s.reload()
        self.assertTrue(ok, out)
        self.assertEde(s.ask(CLIENT, "casino.basis.test", edns=True), 16,
                       f"Blocked by {AUTHORITY} under Decision 99/QD-BTTTT (list mic)")
        # A date that is not a day: the reload fails where the date stands, the old basis
        # keeps serving.
        s.rewrite(policy(self.metrics_port, reference="Decision 100", date="2024-02-30"))
        ok, out = s.reload()
        self.assertFalse(ok, out)
        self.assertRegex(out, re.escape(s.config_path) + r":\d+:\d+: list 'mic'\.basis\.date: "
                         r"'2024-02-30' is not a date written YYYY-MM-DD")
        self.assertEde(s.ask(CLIENT, "casino.basis.test", edns=True), 16,
                       f"Blocked by {AUTHORITY} under Decision 99/QD-BTTTT (list mic)")
        self.assertEqual(self.explain_http("casino.basis.test")["basis"]["reference"],
                         "Decision 99/QD-BTTTT")

    def test_check_and_start_fail_at_a_bad_basis(self):
        for bad, message in ((dict(url="ftp://regulator.example/x"),
                              "list 'mic'.basis.url: 'ftp://regulator.example/x' is not an "
                              "http:// or https:// address"),
                             (dict(date="09/11/2024"),
                              "list 'mic'.basis.date: '09/11/2024' is not a date")):
            with self.subTest(bad=bad):
                s = PolicySinkholed([self.upstream], policy(self.metrics_port, **bad), FILES)
                # No s.cleanup (it asserts a clean exit 0, and this start must fail): only
                # its directory goes.
                self.addCleanup(lambda s=s: s.dir and shutil.rmtree(s.dir, ignore_errors=True))
                with self.assertRaises(RuntimeError):
                    s.start(timeout=3)
                log = s.log_text()
                self.assertRegex(log, re.escape(s.config_path) + r":(\d+):(\d+): " +
                                 re.escape(message), log)
                # The position is the value's own.
                m = re.search(re.escape(s.config_path) + r":(\d+):(\d+): ", log)
                line, col = int(m.group(1)), int(m.group(2))
                with open(s.config_path) as f:
                    text = f.read().splitlines()[line - 1]
                self.assertTrue(text[col - 1:].lstrip('"').startswith(next(iter(bad.values()))),
                                f"column {col} of {text!r}")
                p = subprocess.run([sinkholed_binary(), "--check", "--config", s.config_path],
                                   capture_output=True, text=True, timeout=30,
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(message, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
