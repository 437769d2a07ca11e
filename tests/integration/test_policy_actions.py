# SPDX-License-Identifier: MIT
"""Policy actions with the two real gambling lists (StevenBlack gambling-only and UT1
gambling, both category `gambling`): every action — sinkhole, nxdomain, nodata, refused,
drop, cname, passthru — over UDP and TCP for A, AAAA, MX and HTTPS questions.

Each action is its own policy, chosen by the client's source address (127.0.1.N). The
upstream is a recording proxy in front of knotd, so the tests prove that a blocked name
never reaches the upstream (and `upstream_queries` does not move). Checked: rcode, answer
records and TTLs, the synthesized SOA (owner = the listed name, TTL and MINIMUM = soa_ttl)
for negative answers, no reply at all for drop, EDE (code and rendered text) only when the
client sent EDNS, subdomains blocked (parents and look-alike names not), the first block
rule with a match decides, names matched case-insensitively."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import NOERROR, NXDOMAIN, REFUSED, build_query, mixed_case, parse  # noqa: E402
from fakes import RecordingProxy  # noqa: E402
from policy_harness import (  # noqa: E402
    PolicyTestCase, blocklist_path, ede_of, is_listed, list_names,
)
from processes import KDIG, run_concurrently  # noqa: E402
from zones import soa_zone_text  # noqa: E402

SB = "stevenblack/gambling-only-domains.txt"
UT1 = "ut1/gambling.domains"

QTYPES = ("A", "AAAA", "MX", "HTTPS")
TRANSPORTS = (False, True)  # tcp?

# Client source address → policy.
C_SINKHOLE = "127.0.1.1"
C_SINKHOLE4 = "127.0.1.2"
C_NXDOMAIN = "127.0.1.3"
C_NODATA = "127.0.1.4"
C_REFUSED = "127.0.1.5"
C_DROP = "127.0.1.6"
C_CNAME = "127.0.1.7"
C_PASSTHRU = "127.0.1.8"
C_DEFAULTS = "127.0.1.9"  # built-in actions and list defaults, no rule action

WARN_A = ["203.0.113.10", "203.0.113.11"]
WARN_AAAA = "2001:db8::10"
WARNING_HOST = "warning.warn.test."
DECREE = "Blocked under Decree 147/2024/ND-CP (list {list}, category {category}, line {line})"


def line_of(rel, name):
    """1-based line of `name` in a real list file."""
    with open(blocklist_path(rel), encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            if line.split("#", 1)[0].strip().lower() == name:
                return i
    raise AssertionError(f"{name} not in {rel}")


def pick_names():
    sb = list_names(SB)
    ut = list_names(UT1)
    s, u = set(sb), set(ut)
    both = s | u
    names = {}
    # Listed only in StevenBlack / only in UT1 (neither the name nor a parent in the other).
    names["sb"] = next(n for n in sb if n.count(".") == 1 and not is_listed(n, u))
    names["ut"] = next(n for n in ut if n.count(".") == 1 and not is_listed(n, s))
    # In both lists: the first rule (StevenBlack) decides.
    names["both"] = next(n for n in sb if n in u and n.count(".") == 1)
    # A listed three-label name whose parent is listed nowhere.
    names["deep"] = next(n for n in sb + ut
                         if n.count(".") == 2 and not is_listed(n.split(".", 1)[1], both))
    # Another listed name for the passthru policy (its own zone in knotd).
    names["pass"] = next(n for n in sb if n.count(".") == 1 and not is_listed(n, u)
                         and n != names["sb"])
    # A look-alike: the listed name with a letter in front, listed nowhere.
    names["lookalike"] = next("zq" + n for n in sb if not is_listed("zq" + n, both))
    return names


NAMES = pick_names()


def zones():
    z = {"warn.test": soa_zone_text("warn.test", [
        "warning 3600 IN A 192.0.2.250",
        "warning 3600 IN AAAA 2001:db8::250",
        "warning 3600 IN MX 10 mail.warn.test.",
        "warning 3600 IN HTTPS 1 . alpn=h2",
        "mail 3600 IN A 192.0.2.251",
    ])}
    p = NAMES["pass"]
    z[p] = soa_zone_text(p, [
        "@ 1800 IN A 192.0.2.80",
        "@ 1800 IN AAAA 2001:db8::80",
        f"@ 1800 IN MX 10 mail.{p}.",
        "@ 1800 IN HTTPS 1 . alpn=h3",
        "mail 1800 IN A 192.0.2.81",
    ])
    return z


def policy_yaml():
    def policy(name, client, action=None, extra_clients=()):
        rules = ("[sb_gambling, ut1_gambling]" if action is None else
                 f"[{{list: sb_gambling, action: {action}}}, "
                 f"{{list: ut1_gambling, action: {action}}}]")
        clients = ", ".join(f'"{c}"' for c in (f"{client}/32",) + tuple(extra_clients))
        return f"  - name: {name}\n    clients: [{clients}]\n    block: {rules}\n"

    return (
        "lists:\n"
        f'  sb_gambling: {{ path: "{blocklist_path(SB)}", format: domains, category: gambling }}\n'
        f'  ut1_gambling: {{ path: "{blocklist_path(UT1)}", category: gambling }}\n'
        "actions:\n"
        f'  warn: {{ type: sinkhole, a: [{", ".join(WARN_A)}], aaaa: "{WARN_AAAA}", ttl: 120,'
        f' soa_ttl: 45, ede: censored, ede_text: "{DECREE}" }}\n'
        "  warn4: { type: sinkhole, a: 203.0.113.20, ttl: 60, soa_ttl: 30 }\n"
        '  nx: { type: nxdomain, soa_ttl: 90, ede: filtered, ede_text: "nx {list}" }\n'
        "  nd: { type: nodata, soa_ttl: 33 }\n"
        '  ref: { type: refused, ede_text: "refused by {category}" }\n'
        "  dr: { type: drop }\n"
        f"  redirect: {{ type: cname, target: {WARNING_HOST}, ttl: 77,"
        ' ede_text: "to warning ({list})" }\n'
        "  monitor: { type: passthru, log: true }\n"
        "policies:\n"
        + policy("sinkhole", C_SINKHOLE, "warn", extra_clients=("::1/128",))
        + policy("sinkhole4", C_SINKHOLE4, "warn4")
        + policy("nxdomain", C_NXDOMAIN, "nx")
        + policy("nodata", C_NODATA, "nd")
        + policy("refused", C_REFUSED, "ref")
        + policy("drop", C_DROP, "dr")
        + policy("cname", C_CNAME, "redirect")
        + policy("passthru", C_PASSTHRU, "monitor")
        + policy("defaults", C_DEFAULTS)
        + "default_policy: refused\n"
    )


def transport_name(tcp):
    return "tcp" if tcp else "udp"


class PolicyActionsTest(PolicyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.knot = cls.class_knot(zones=zones(), signed=())
        cls.proxy = cls.class_fake(RecordingProxy(cls.knot))
        cls.server = cls.class_policy_sinkholed([cls.proxy.upstream], policy_yaml())

    def setUp(self):
        self.before = self.server.stats()
        self.proxy_before = len(self.proxy.queries())

    # -- helpers ------------------------------------------------------------------------
    def upstream_names(self):
        return [e["qname"].lower() for e in self.proxy.queries()[self.proxy_before:]]

    def assertNotForwarded(self, *names, upstream_queries=0):
        """None of the names (nor any subdomain of them) reached the upstream, and the
        `upstream_queries` counter moved only by `upstream_queries` (other names)."""
        seen = self.upstream_names()
        for n in names:
            n = n.rstrip(".").lower() + "."
            self.assertEqual([s for s in seen if s == n or s.endswith("." + n)], [],
                             f"blocked name {n} was sent upstream")
        self.assertCounters(self.server, self.before, upstream_queries=upstream_queries)

    def each(self):
        for qtype in QTYPES:
            for tcp in TRANSPORTS:
                yield qtype, tcp

    def ask(self, src, name, qtype, tcp, edns=True):
        m = self.server.ask(src, name, qtype, tcp=tcp, edns=edns)
        self.assertTrue(m.qr and m.ra, repr(m))
        self.assertFalse(m.tc, repr(m))
        self.assertEqual(m.questions[0][0].lower(), name.lower().rstrip(".") + ".", repr(m))
        return m

    def warn_ede_text(self, list_name, rel, listed):
        return (f"Blocked under Decree 147/2024/ND-CP (list {list_name}, category gambling, "
                f"line {line_of(rel, listed)})")

    # -- sinkhole -----------------------------------------------------------------------
    def test_sinkhole_every_qtype_udp_tcp(self):
        for key, list_name, rel in (("sb", "sb_gambling", SB), ("ut", "ut1_gambling", UT1)):
            name = NAMES[key]
            for qtype, tcp in self.each():
                with self.subTest(name=name, qtype=qtype, transport=transport_name(tcp)):
                    m = self.ask(C_SINKHOLE, name, qtype, tcp)
                    if qtype == "A":
                        self.assertAnswerIs(m, NOERROR, [(name + ".", "A", 120, a)
                                                         for a in WARN_A])
                        self.assertNoSoa(m)
                    elif qtype == "AAAA":
                        self.assertAnswerIs(m, NOERROR, [(name + ".", "AAAA", 120, WARN_AAAA)])
                        self.assertNoSoa(m)
                    else:  # MX, HTTPS: NODATA with the synthesized SOA
                        self.assertAnswerIs(m, NOERROR, [])
                        self.assertSynthSoa(m, name, 45)
                    self.assertEde(m, 16, self.warn_ede_text(list_name, rel, name))
        self.assertNotForwarded(NAMES["sb"], NAMES["ut"])
        self.assertCounters(self.server, self.before, blocked=16, monitored=0)

    def test_sinkhole_family_without_address_is_nodata(self):
        name = NAMES["ut"]
        for qtype, tcp in self.each():
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                m = self.ask(C_SINKHOLE4, name, qtype, tcp)
                if qtype == "A":
                    self.assertAnswerIs(m, NOERROR, [(name + ".", "A", 60, "203.0.113.20")])
                    self.assertNoSoa(m)
                else:
                    self.assertAnswerIs(m, NOERROR, [])
                    self.assertSynthSoa(m, name, 30)
                self.assertEde(m, 15)  # the default code: Blocked
        self.assertNotForwarded(name)

    def test_sinkhole_from_ipv6_client(self):
        self.assertTrue(self.server.ipv6, "::1 is not available")
        for tcp in TRANSPORTS:
            with self.subTest(transport=transport_name(tcp)):
                m = self.ask("::1", NAMES["sb"], "AAAA", tcp)
                self.assertAnswerIs(m, NOERROR, [(NAMES["sb"] + ".", "AAAA", 120, WARN_AAAA)])
        self.assertNotForwarded(NAMES["sb"])

    # -- nxdomain / nodata / refused ------------------------------------------------------
    def test_nxdomain(self):
        for key, list_name in (("sb", "sb_gambling"), ("ut", "ut1_gambling")):
            name = NAMES[key]
            for qtype, tcp in self.each():
                with self.subTest(name=name, qtype=qtype, transport=transport_name(tcp)):
                    m = self.ask(C_NXDOMAIN, name, qtype, tcp)
                    self.assertAnswerIs(m, NXDOMAIN, [])
                    self.assertSynthSoa(m, name, 90, serial=self.before["snapshot_generation"])
                    self.assertEde(m, 17, f"nx {list_name}")
        self.assertNotForwarded(NAMES["sb"], NAMES["ut"])
        self.assertCounters(self.server, self.before, blocked=16, answers_nxdomain=16)

    def test_nodata(self):
        name = NAMES["sb"]
        for qtype, tcp in self.each():
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                m = self.ask(C_NODATA, name, qtype, tcp)
                self.assertAnswerIs(m, NOERROR, [])
                self.assertSynthSoa(m, name, 33)
                self.assertEde(m, 15)
        self.assertNotForwarded(name)

    def test_refused(self):
        name = NAMES["ut"]
        for qtype, tcp in self.each():
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                m = self.ask(C_REFUSED, name, qtype, tcp)
                self.assertAnswerIs(m, REFUSED, [])
                self.assertEqual(m.authority, [], repr(m))
                self.assertEde(m, 15, "refused by gambling")
        self.assertNotForwarded(name)
        self.assertCounters(self.server, self.before, blocked=8, answers_refused=8,
                            refused_no_policy=0)

    # -- drop ---------------------------------------------------------------------------
    def test_drop_sends_nothing(self):
        name = NAMES["sb"]
        cases = list(self.each())

        def one(qtype, tcp):
            return lambda: self.server.raw_from(C_DROP, build_query(name, qtype, edns=True),
                                                tcp=tcp, timeout=1.0)

        replies = run_concurrently([one(q, t) for q, t in cases], timeout=10)
        for (qtype, tcp), reply in zip(cases, replies):
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                self.assertIsNone(reply, f"drop must not answer: {reply and parse(reply)!r}")
        self.assertNotForwarded(name)
        self.assertCounters(self.server, self.before, blocked=8)
        # The server is still fine: another client is answered.
        m = self.ask(C_NXDOMAIN, name, "A", False)
        self.assertEqual(m.rcode, NXDOMAIN)

    # -- cname --------------------------------------------------------------------------
    def test_cname_redirects_to_warning_host(self):
        ref = {q: self.knot.query(WARNING_HOST, q) for q in QTYPES}
        name = NAMES["ut"]
        for qtype, tcp in self.each():
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                m = self.ask(C_CNAME, name, qtype, tcp)
                self.assertEqual(m.rcode, NOERROR, repr(m))
                self.assertGreaterEqual(len(m.answer), 2, repr(m))
                first = m.answer[0]
                self.assertEqual((first.name.lower(), first.type_name, first.ttl, first.value()),
                                 (name + ".", "CNAME", 77, WARNING_HOST), repr(m))
                want = [(r.name.lower(), r.type, r.ttl, repr(r.value())) for r in ref[qtype].answer]
                got = [(r.name.lower(), r.type, r.ttl, repr(r.value())) for r in m.answer[1:]]
                self.assertTrue(want, f"knotd has no {qtype} for {WARNING_HOST}")
                self.assertEqual(got, want, repr(m))
                self.assertEqual([c for c, _ in ede_of(m)], [15], repr(m))
        self.assertNotForwarded(name, upstream_queries=8)
        forwarded = set(self.upstream_names())
        self.assertEqual(forwarded, {WARNING_HOST}, "only the warning host goes upstream")
        self.assertCounters(self.server, self.before, blocked=8)

    def test_cname_ede_text_is_rendered(self):
        # The cname action's ede_text template, like every other action's.
        for tcp in TRANSPORTS:
            with self.subTest(transport=transport_name(tcp)):
                m = self.ask(C_CNAME, NAMES["ut"], "A", tcp)
                self.assertEqual(m.answer[0].type_name, "CNAME", repr(m))
                self.assertEde(m, 15, "to warning (ut1_gambling)")

    # -- passthru -----------------------------------------------------------------------
    def test_passthru_forwards_and_counts(self):
        name = NAMES["pass"]
        for qtype, tcp in self.each():
            with self.subTest(qtype=qtype, transport=transport_name(tcp)):
                want = self.knot.query(name, qtype)
                self.assertTrue(want.answer, f"knotd has no {qtype} for {name}")
                m = self.ask(C_PASSTHRU, name, qtype, tcp)
                self.assertEqual(m.rcode, NOERROR, repr(m))
                self.assertEqual(
                    [(r.name.lower(), r.type, r.ttl, repr(r.value())) for r in m.answer],
                    [(r.name.lower(), r.type, r.ttl, repr(r.value())) for r in want.answer],
                    repr(m))
                self.assertNoEde(m)
        self.assertEqual(sorted(self.upstream_names()), [name + "."] * 8)
        self.assertCounters(self.server, self.before, monitored=8, blocked=0)

    def test_passthru_with_log_true_logs_the_query(self):
        # passthru is monitor mode: "allow, but count and log"; the action says log: true.
        name = NAMES["pass"]
        offset = self.server.log_size()
        m = self.ask(C_PASSTHRU, "logme." + name, "A", False)
        self.assertNoEde(m)
        deadline = time.monotonic() + 3
        while name not in self.server.log_since(offset) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("logme." + name, self.server.log_since(offset),
                      "a passthru action with log: true must log the monitored query")

    # -- EDE only with EDNS -------------------------------------------------------------
    def test_no_ede_without_edns(self):
        cases = [(C_SINKHOLE, "A", NOERROR), (C_SINKHOLE, "MX", NOERROR),
                 (C_NXDOMAIN, "A", NXDOMAIN), (C_NODATA, "AAAA", NOERROR),
                 (C_REFUSED, "A", REFUSED), (C_CNAME, "A", NOERROR)]
        for src, qtype, rcode in cases:
            for tcp in TRANSPORTS:
                with self.subTest(src=src, qtype=qtype, transport=transport_name(tcp)):
                    m = self.ask(src, NAMES["sb"], qtype, tcp, edns=None)
                    self.assertEqual(m.rcode, rcode, repr(m))
                    self.assertIsNone(m.opt, f"no OPT (so no EDE) without EDNS: {m!r}")
                    with_edns = self.ask(src, NAMES["sb"], qtype, tcp, edns=True)
                    self.assertEqual(with_edns.rcode, rcode, repr(with_edns))
                    self.assertEqual(len(ede_of(with_edns)), 1, repr(with_edns))

    def test_kdig_prints_ede(self):
        name = NAMES["sb"]
        argv = [KDIG, f"@{self.server.addr}", "-p", str(self.server.port), "-b", C_SINKHOLE,
                "+edns", "+timeout=2", "+retry=0", name, "A"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        want = f";; EDE: 16 (Censored): '{self.warn_ede_text('sb_gambling', SB, name)}'"
        self.assertIn(want, out, out)
        argv[argv.index("+edns")] = "+noedns"
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        self.assertIn("status: NOERROR", out, out)
        self.assertNotIn("EDE", out, out)

    # -- which names are blocked ----------------------------------------------------------
    def test_subdomains_blocked_soa_owner_is_listed_name(self):
        for key in ("sb", "ut", "deep"):
            listed = NAMES[key]
            for sub in ("www." + listed, "a.b.c." + listed):
                for tcp in TRANSPORTS:
                    with self.subTest(name=sub, transport=transport_name(tcp)):
                        m = self.ask(C_NXDOMAIN, sub, "A", tcp)
                        self.assertAnswerIs(m, NXDOMAIN, [])
                        self.assertSynthSoa(m, listed, 90)
                        m = self.ask(C_SINKHOLE, sub, "A", tcp)
                        self.assertAnswerIs(m, NOERROR, [(sub + ".", "A", 120, a)
                                                         for a in WARN_A])
        self.assertNotForwarded(NAMES["sb"], NAMES["ut"], NAMES["deep"])

    def test_parent_and_lookalike_not_blocked(self):
        parent = NAMES["deep"].split(".", 1)[1]
        for name in (parent, NAMES["lookalike"]):
            with self.subTest(name=name):
                m = self.ask(C_NXDOMAIN, name, "A", False)
                self.assertNoEde(m)
                self.assertIn(name + ".", self.upstream_names(),
                              f"{name} is not listed and must be forwarded")
        self.assertCounters(self.server, self.before, blocked=0)

    def test_case_insensitive_and_case_echoed(self):
        name = mixed_case(NAMES["ut"])
        m = self.ask(C_SINKHOLE, name, "A", False)
        self.assertEqual(m.questions[0][0], name + ".", "question case must be echoed")
        self.assertEqual(sorted(m.values("A")), WARN_A, repr(m))
        self.assertNotForwarded(NAMES["ut"])

    def test_first_rule_with_a_match_decides(self):
        name = NAMES["both"]
        m = self.ask(C_SINKHOLE, name, "A", False)
        self.assertEde(m, 16, self.warn_ede_text("sb_gambling", SB, name))
        # A name only the second list has is decided by the second rule.
        m = self.ask(C_SINKHOLE, NAMES["ut"], "A", False)
        self.assertEde(m, 16, self.warn_ede_text("ut1_gambling", UT1, NAMES["ut"]))

    def test_rule_without_action_gets_nxdomain(self):
        # No action on the rule, no RPZ action, no list default: nxdomain with the
        # built-in SOA TTL (300).
        name = NAMES["ut"]
        for tcp in TRANSPORTS:
            with self.subTest(transport=transport_name(tcp)):
                m = self.ask(C_DEFAULTS, name, "MX", tcp)
                self.assertAnswerIs(m, NXDOMAIN, [])
                self.assertSynthSoa(m, name, 300)
                self.assertEde(m, 15)
        self.assertNotForwarded(name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
