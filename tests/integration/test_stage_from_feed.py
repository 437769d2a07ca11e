# SPDX-License-Identifier: MIT
"""Holding a feed's new versions for review, with the real sinkholed, real knotd primaries
(TSIG, NOTIFY) and Debian's nginx on loopback, and a knotd upstream that answers every
name of stage.test (so a blocked name, NXDOMAIN, is unmistakable and no query goes to an
upstream meant to fail):

  - `updates: stage` (RPZ, NOTIFY to sinkholed): the first AXFR (no copy serving) is
    enforced at once (fail closed); a name added on knotd is NOT blocked after the NOTIFY:
    `sinkholectl lists` shows the staged serial waiting for promote (time from the commit
    to staged printed), `list diff` names it and counts exactly the queries the test sent
    for it; a restart keeps the staged copy and does not enforce it; a second change while
    staged is an IXFR from the staged serial (its delta applies: no AXFR fallback) and is
    staged too; `list stage --from-feed` answers with the version staged; `list promote`
    blocks both names; a third change after the promote stages again (IXFR base right);
    each step is an audit line;
  - `updates: enforce` (RPZ without NOTIFY, SOA refresh an hour away): `--from-feed` with
    nothing newer exits 1 and stages nothing; after a change on knotd, `--from-feed`
    fetches now and stages the new serial while the old one keeps answering, and promote
    enforces it; with the primary gone, `--from-feed` exits 1 (unreachable);
  - an HTTP list (refresh an hour away): `--from-feed` stages a fresh download (nginx saw
    the request) without changing an answer; promote enforces it;
  - an HTTP list with `updates: stage` (refresh 10s): its first copy serves; a changed file
    is staged at the next refresh, answers unchanged, and the request after asks with the
    staged copy's ETag (nginx answers 304); promote enforces it;
  - errors: `--from-feed` on a file list and FILE with `--from-feed` exit 1, saying why.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import ctl_list, sinkholectl  # noqa: E402
from dnswire import NOERROR, NXDOMAIN  # noqa: E402
from policy_harness import PolicyTestCase  # noqa: E402
from test_http_source import Nginx, make_ca  # noqa: E402
from test_rpz_secondary import ZONE, PrimaryKnot, sanitizer_factor  # noqa: E402
from zones import soa_zone_text  # noqa: E402

CLIENT = "127.0.0.2"


def zones():
    return {"stage.test": soa_zone_text("stage.test", ["* 600 IN A 192.0.2.1"])}


def rpz_list(primary, key_file, updates=None):
    extra = f", updates: {updates}" if updates else ""
    return (f"{{ format: rpz, primary: [\"{primary.addr}:{primary.port}\"], zone: {ZONE}, "
            f"tsig: {{ name: feed, algorithm: hmac-sha256, secret_file: {key_file} }}{extra} }}")


class StageFromFeedTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.factor = sanitizer_factor()
        cls.knot = cls.class_knot(zones=zones(), signed=())

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sinkholed-fromfeed-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    # -- helpers ----------------------------------------------------------------------
    def primary(self, names):
        p = PrimaryKnot(names)
        self.addCleanup(p.stop)
        return p.start()

    def sinkholed(self, lists):
        rows = "".join(f"  {n}: {src}\n" for n, src in lists.items())
        block = ", ".join(f"{{ list: {n}, action: nxdomain }}" for n in lists)
        policy = (f"lists:\n{rows}policies:\n"
                  f"  - {{ name: everyone, clients: [\"127.0.0.0/8\"], block: [{block}] }}\n")
        files = {"local.txt": "local.stage.test\n"}
        for i, p in enumerate(getattr(self, "primaries", [])):
            files[f"feed{i}.key"] = p.key_text
        s = self.start_policy_sinkholed([self.knot.upstream], policy, files)
        return s

    def ctl(self, s, *args, expect=0):
        p = sinkholectl(s.control_socket, *args, timeout=120)
        self.assertEqual(p.returncode, expect, f"sinkholectl {args}: {p.stdout}{p.stderr}")
        return p

    def rcode(self, s, name, src=CLIENT):
        return s.ask(src, name, timeout=2).rcode

    def wait(self, what, pred, s, timeout=None):
        timeout = timeout or 20 * self.factor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return time.monotonic()
            time.sleep(0.02)
        self.fail(f"{what}: not within {timeout} s\n{s.log_text()[-4000:]}")

    def staged_version(self, s, name="mic"):
        return ctl_list(name, sock=s.control_socket).get("staged_version")

    def audit(self, s, list_name):
        with open(os.path.join(s.state_dir, "audit.log")) as f:
            return [e for e in (json.loads(line) for line in f if line.strip())
                    if e["list"] == list_name]

    # -- updates: stage ---------------------------------------------------------------
    def test_1_updates_stage_holds_every_version_until_promote(self):
        p = self.primary(["keep.stage.test"])
        self.primaries = [p]
        s = self.sinkholed({"mic": rpz_list(p, "feed0.key", "stage")})
        # The first copy (no copy serving) is enforced, not staged: fail closed.
        self.wait("serial 1 serving", lambda: self.rcode(s, "keep.stage.test") == NXDOMAIN, s)
        mic = ctl_list("mic", sock=s.control_socket)
        self.assertEqual(mic["serial"], 1)
        self.assertIsNone(mic["staged_version"])

        # A change on knotd, NOTIFY: staged, not blocked.
        p.notify([(s.addr, s.port)])
        t_commit = p.change(add=["st1.stage.test"])
        t_staged = self.wait("serial 2 staged", lambda: self.staged_version(s) == "serial 2", s)
        print(f"\nupdates: stage: commit on knotd → NOTIFY → IXFR → staged build: "
              f"{t_staged - t_commit:.3f} s")
        self.assertRegex(s.log_text(), r"IXFR of serial 2 from ")
        mic = ctl_list("mic", sock=s.control_socket)
        self.assertEqual(mic["serial"], 1)  # still serving serial 1
        text = self.ctl(s, "lists").stdout
        self.assertIn("staged serial 2 (waits for sinkholectl list promote)", text)
        clients = [f"127.0.9.{i}" for i in range(1, 6)]
        sent = 0
        for src in clients:
            for _ in range(2):
                self.assertEqual(self.rcode(s, "st1.stage.test", src), NOERROR)
                sent += 1
            self.assertEqual(self.rcode(s, "keep.stage.test", src), NXDOMAIN)  # not counted
        d = json.loads(self.ctl(s, "list", "diff", "mic", "--json").stdout)
        self.assertEqual(d["added_names"], ["st1.stage.test"])
        self.assertEqual(d["removed"], 0)
        self.assertEqual(d["queries"], sent)
        self.assertLessEqual(abs(d["clients"] - len(clients)), 1)
        print(f"updates: stage: diff counts {d['queries']} queries from ~{d['clients']} "
              f"clients (sent {sent} from {len(clients)})")
        staged = [e for e in self.audit(s, "mic") if e["event"] == "staged"]
        self.assertEqual([e["new_version"] for e in staged], ["serial 2"])
        self.assertTrue(all(e["who"] == "feed" and e["source"] == "rpz" for e in staged))

        # A restart keeps the staged copy and does not enforce it.
        s.restart(timeout=20)
        self.assertEqual(self.rcode(s, "st1.stage.test"), NOERROR)
        self.assertEqual(self.rcode(s, "keep.stage.test"), NXDOMAIN)
        self.assertEqual(self.staged_version(s), "serial 2")
        # Its first IXFR after the restart asks from the staged serial: up to date.
        self.wait("the restarted feed asked the primary",
                  lambda: ctl_list("mic", sock=s.control_socket)["last_success_unix_ms"], s)
        self.assertEqual(self.staged_version(s), "serial 2")

        # A second change while staged: IXFR from serial 2 (the staged copy), staged too.
        before = s.log_size()
        p.change(add=["st2.stage.test"])
        self.wait("serial 3 staged", lambda: self.staged_version(s) == "serial 3", s)
        log = s.log_since(before)
        self.assertRegex(log, r"IXFR of serial 3 from ")
        self.assertNotIn("does not apply", log)
        self.assertNotIn("AXFR", log)
        # knotd's side: the restarted feed and this change asked from the staged serial 2,
        # not from serial 1 serving.
        self.assertRegex(p.log_text(), r"IXFR, outgoing, .*zone is up-to-date, serial 2\b")
        self.assertRegex(p.log_text(), r"IXFR, outgoing, .*started, serial 2 -> 3\b")
        self.assertNotRegex(p.log_text(), r"started, serial 1 -> 3\b")
        for name in ("st1.stage.test", "st2.stage.test"):
            self.assertEqual(self.rcode(s, name), NOERROR)
        d = json.loads(self.ctl(s, "list", "diff", "mic", "--json").stdout)
        self.assertEqual(d["added_names"], ["st1.stage.test", "st2.stage.test"])
        # --from-feed: the feed's newest version is the one staged already.
        out = self.ctl(s, "list", "stage", "mic", "--from-feed").stdout
        self.assertIn("staged serial 3 from the feed (already staged by the feed)", out)

        self.ctl(s, "list", "promote", "mic")
        for name in ("st1.stage.test", "st2.stage.test", "keep.stage.test"):
            self.assertEqual(self.rcode(s, name), NXDOMAIN, name)
        mic = ctl_list("mic", sock=s.control_socket)
        self.assertEqual(mic["serial"], 3)
        self.assertIsNone(mic["staged_version"])

        # After the promote the base is the copy serving again: the next change stages.
        before = s.log_size()
        p.change(add=["st3.stage.test"])
        self.wait("serial 4 staged", lambda: self.staged_version(s) == "serial 4", s)
        self.assertRegex(s.log_since(before), r"IXFR of serial 4 from ")
        self.assertRegex(p.log_text(), r"IXFR, outgoing, .*started, serial 3 -> 4\b")
        self.assertEqual(self.rcode(s, "st3.stage.test"), NOERROR)
        d = json.loads(self.ctl(s, "list", "diff", "mic", "--json").stdout)
        self.assertEqual(d["added_names"], ["st3.stage.test"])
        events = [e["event"] for e in self.audit(s, "mic")]
        for want in ("staged", "promoted", "installed"):
            self.assertIn(want, events)

    # -- updates: enforce + --from-feed (RPZ and HTTP), and the errors ----------------
    def test_2_from_feed_stages_a_fetch_now_without_changing_an_answer(self):
        p = self.primary(["keep.stage.test"])  # no NOTIFY to sinkholed; SOA refresh 1 h
        self.primaries = [p]
        nginx = Nginx(os.path.join(self.tmp, "nginx"))
        make_ca(nginx.dir)
        self.addCleanup(nginx.stop)
        nginx.start()
        nginx.put("web.txt", "web1.stage.test\n")
        url = f"http://127.0.0.1:{nginx.http_port}/web.txt"
        s = self.sinkholed({
            "mic": rpz_list(p, "feed0.key"),
            "web": f"{{ url: {url}, refresh: 1h, format: domains }}",
            "local": "{ path: local.txt }",
        })
        self.wait("both feeds serving", lambda: self.rcode(s, "keep.stage.test") == NXDOMAIN
                  and self.rcode(s, "web1.stage.test") == NXDOMAIN, s)

        # Errors first: nothing newer; a file list; FILE with --from-feed.
        r = self.ctl(s, "list", "stage", "mic", "--from-feed", expect=1)
        self.assertIn("nothing staged: nothing newer on the primary than serial 1", r.stdout)
        self.assertIsNone(self.staged_version(s))
        r = self.ctl(s, "list", "stage", "web", "--from-feed", expect=1)
        self.assertIn("nothing newer at", r.stdout)
        r = self.ctl(s, "list", "stage", "local", "--from-feed", expect=1)
        self.assertIn("list local has no feed", r.stdout)
        f = os.path.join(self.tmp, "x.txt")
        with open(f, "w") as out:
            out.write("x.stage.test\n")
        r = self.ctl(s, "list", "stage", "mic", f, "--from-feed", expect=1)
        self.assertIn("--from-feed", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(s.state_dir, "lists", "mic", "staged")))

        # RPZ: a change on knotd, no NOTIFY: --from-feed fetches it now and stages it.
        p.change(add=["ff1.stage.test"])
        self.assertEqual(self.rcode(s, "ff1.stage.test"), NOERROR)
        t0 = time.monotonic()
        out = self.ctl(s, "list", "stage", "mic", "--from-feed").stdout
        print(f"\n--from-feed (RPZ): IXFR and staged build answered in "
              f"{time.monotonic() - t0:.3f} s: {out.strip()}")
        self.assertIn("ok: list mic: staged serial 2 from the feed", out)
        self.assertIn("serving: serial 1", out)
        self.assertEqual(self.rcode(s, "ff1.stage.test"), NOERROR)
        mic = ctl_list("mic", sock=s.control_socket)
        self.assertEqual((mic["serial"], mic["staged_version"]), (1, "serial 2"))
        self.assertEqual(self.rcode(s, "ff1.stage.test"), NOERROR)
        d = json.loads(self.ctl(s, "list", "diff", "mic", "--json").stdout)
        self.assertEqual(d["added_names"], ["ff1.stage.test"])
        self.assertEqual(d["queries"], 2)
        self.ctl(s, "list", "promote", "mic")
        self.assertEqual(self.rcode(s, "ff1.stage.test"), NXDOMAIN)
        self.assertEqual(ctl_list("mic", sock=s.control_socket)["serial"], 2)

        # HTTP: a new file on nginx; --from-feed downloads it now and stages it.
        requests_before = len(nginx.requests("/web.txt"))
        nginx.put("web.txt", "web1.stage.test\nweb2.stage.test\n")
        out = self.ctl(s, "list", "stage", "web", "--from-feed").stdout
        self.assertRegex(out, r"ok: list web: staged etag \S+ from the feed")
        self.assertEqual(nginx.requests("/web.txt")[requests_before:][-1][0], 200)
        self.assertEqual(self.rcode(s, "web2.stage.test"), NOERROR)
        self.assertEqual(self.rcode(s, "web1.stage.test"), NXDOMAIN)
        self.assertIsNotNone(self.staged_version(s, "web"))
        d = json.loads(self.ctl(s, "list", "diff", "web", "--json").stdout)
        self.assertEqual(d["added_names"], ["web2.stage.test"])
        self.ctl(s, "list", "promote", "web")
        self.assertEqual(self.rcode(s, "web2.stage.test"), NXDOMAIN)

        # The primary gone: unreachable, exit 1, nothing staged.
        p.stop()
        r = self.ctl(s, "list", "stage", "mic", "--from-feed", expect=1)
        self.assertIn("nothing staged: the feed is unreachable", r.stdout)
        self.assertIsNone(self.staged_version(s))
        self.assertEqual(self.rcode(s, "ff1.stage.test"), NXDOMAIN)
        events = [(e["event"], e["new_version"]) for e in self.audit(s, "mic")]
        self.assertIn(("staged", "serial 2"), events)
        self.assertTrue(re.search(r"stage --from-feed: asking the source now", s.log_text()))

    # -- updates: stage on an HTTP list ----------------------------------------------
    def test_3_http_updates_stage_asks_with_the_staged_etag(self):
        nginx = Nginx(os.path.join(self.tmp, "nginx"))
        make_ca(nginx.dir)
        self.addCleanup(nginx.stop)
        nginx.start()
        nginx.put("st.txt", "h1.stage.test\n")
        url = f"http://127.0.0.1:{nginx.http_port}/st.txt"
        s = self.sinkholed({"web": f"{{ url: {url}, refresh: 10s, format: domains, "
                                   f"updates: stage }}"})
        # The first copy is enforced (no copy serving); a new file is staged at the next
        # refresh, answers unchanged.
        self.wait("h1 blocked", lambda: self.rcode(s, "h1.stage.test") == NXDOMAIN, s)
        serving_etag = ctl_list("web", sock=s.control_socket)["version"]
        nginx.put("st.txt", "h1.stage.test\nh2.stage.test\n")
        limit = 10 + 40 * self.factor  # one refresh, then a build under a sanitizer
        t0 = time.monotonic()
        self.wait("h2 staged", lambda: self.staged_version(s, "web"), s, timeout=limit)
        print(f"\nupdates: stage (HTTP, refresh 10s): file changed → staged in "
              f"{time.monotonic() - t0:.3f} s")
        staged = self.staged_version(s, "web")
        self.assertNotEqual(staged, serving_etag)
        self.assertEqual(ctl_list("web", sock=s.control_socket)["version"], serving_etag)
        self.assertEqual(self.rcode(s, "h2.stage.test"), NOERROR)
        # The next request asks with the staged copy's ETag: nginx answers 304.
        etag = staged.split(" ", 1)[1]
        self.wait("a request with the staged ETag",
                  lambda: (304, etag) in nginx.requests("/st.txt"), s, timeout=limit)
        self.assertEqual(self.staged_version(s, "web"), staged)
        self.assertEqual(self.rcode(s, "h2.stage.test"), NOERROR)
        d = json.loads(self.ctl(s, "list", "diff", "web", "--json").stdout)
        self.assertEqual(d["added_names"], ["h2.stage.test"])
        self.ctl(s, "list", "promote", "web")
        self.assertEqual(self.rcode(s, "h2.stage.test"), NXDOMAIN)
        self.assertIsNone(self.staged_version(s, "web"))


if __name__ == "__main__":
    unittest.main()
