# SPDX-License-Identifier: MIT
"""Shared helpers for the policy integration tests (test_policy_*.py and the tests that
run sinkholed with a policy):

  - `blocklist_path()` / `list_names()`: the real lists in ../shared/data/blocklists
    (never copied into the repo), and names picked from them;
  - `PolicySinkholed`: the processes.Sinkholed fixture plus a `lists:`/`actions:`/
    `policies:` YAML block and extra files (small lists) written next to the config,
    `rewrite()` and `reload()` (SIGHUP, waits for the log line that says how it went);
  - queries sent FROM a chosen loopback source address (the policy is chosen by the
    client's address): `PolicySinkholed.ask()`, `raw_from()`, `kdig_from()`;
  - `ede_of()`: (code, text) pairs of the EDE options of a reply;
  - `PolicyTestCase`: assertions shared by the policy tests (synthesized SOA, EDE).
"""

import os
import re
import signal
import time

from dnswire import build_query, parse, tcp_from, udp_from
from processes import REPO, Sinkholed, SinkholedTestCase, kdig

# ---------------------------------------------------------------------------------------
# Real blocklists
# ---------------------------------------------------------------------------------------

_BLOCKLIST_CANDIDATES = (
    os.path.normpath(os.path.join(REPO, "..", "shared", "data", "blocklists")),
    "/work/shared/data/blocklists",
)


def blocklists_dir():
    for d in _BLOCKLIST_CANDIDATES:
        if os.path.isdir(d):
            return d
    raise RuntimeError(f"blocklists not found in {_BLOCKLIST_CANDIDATES}")


def blocklist_path(rel):
    """Absolute path of a list in the shared blocklists directory, e.g.
    blocklist_path("ut1/gambling.domains")."""
    path = os.path.join(blocklists_dir(), rel)
    if not os.path.exists(path):
        raise RuntimeError(f"blocklist {path} is missing")
    return path


_NAME_RE = re.compile(r"^(?=.{4,100}$)([a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?\.){1,4}[a-z]{2,10}$")


def list_names(rel, fmt="domains"):
    """The plain host names of a real list, in file order (comments, IPs, odd entries
    skipped), lower-cased. `fmt`: domains (one per line) or hosts (`0.0.0.0 name`)."""
    out = []
    with open(blocklist_path(rel), encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip().lower()
            if not line:
                continue
            if fmt == "hosts":
                parts = line.split()
                if len(parts) < 2:
                    continue
                line = parts[1]
            if _NAME_RE.match(line) and not line.startswith("www."):
                out.append(line)
    return out


def is_listed(name, names):
    """True when `name` or one of its parent domains is in the set `names`."""
    labels = name.rstrip(".").lower().split(".")
    return any(".".join(labels[i:]) in names for i in range(len(labels)))


# ---------------------------------------------------------------------------------------
# Queries from a chosen source address
# ---------------------------------------------------------------------------------------

def kdig_from(src, server, port, name, qtype="A", *opts, **kw):
    """processes.kdig() with the query sent from `src` (kdig -b)."""
    return kdig(server, port, name, qtype, "-b", src, *opts, **kw)


def ede_of(msg):
    """[(info-code, text)] of every EDE option in a reply (Reply or KdigResult)."""
    return msg.ede()


# ---------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------

class PolicySinkholed(Sinkholed):
    """Sinkholed with a policy block appended to its config.

    `policy_yaml`: the text of the `lists:`, `actions:`, `policies:`, `default_policy:`
    keys (top level, YAML). `files`: {relative name: text} written next to the config
    before it starts (relative list paths in the config are relative to its directory).
    """

    def __init__(self, upstreams, policy_yaml="", files=None, **kw):
        kw.setdefault("ipv6", True)
        super().__init__(upstreams, **kw)
        self.policy_yaml = policy_yaml
        self.files = dict(files or {})

    def config_text(self):
        # Called by start() once self.dir exists and before the process starts: the list
        # files must be in place by then.
        self.write_files(self.files)
        return super().config_text() + self.policy_yaml

    def write_files(self, files):
        for rel, text in files.items():
            path = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)

    def remove_file(self, rel):
        os.unlink(os.path.join(self.dir, rel))

    def rewrite(self, policy_yaml=None, files=None, raw=None):
        """Writes new list files and a new config (replaced atomically). `raw`: the whole
        config text as is (e.g. broken YAML)."""
        if files:
            self.files.update(files)
            self.write_files(files)
        if policy_yaml is not None:
            self.policy_yaml = policy_yaml
        text = raw if raw is not None else (Sinkholed.config_text(self) + self.policy_yaml)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def reload(self, timeout=30.0):
        """SIGHUP, then waits for the outcome in the log. Returns (ok, new log text).
        The wait is generous: a build of the real lists at nice 10 under ThreadSanitizer,
        beside queries that keep both cores busy, took over 10 s once. Speed is measured in
        perf/, not here.
        ok True for `reload: generation N in service`, False for `reload failed: keeping
        generation N in service`.
        """
        assert self.running(), f"sinkholed is not running:\n{self.log_text()[-3000:]}"
        before = self.log_size()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_since(before)
            if re.search(r"reload: generation \d+ in service", text):
                return True, text
            if re.search(r"reload failed: keeping generation \d+ in service", text):
                return False, text
            time.sleep(0.02)
        raise AssertionError(f"no reload outcome in the log within {timeout}s:\n"
                             f"{self.log_since(before)[-3000:]}")

    # -- queries from a source address -------------------------------------------------
    def raw_from(self, src, data, tcp=False, addr=None, timeout=2.0):
        """Reply bytes or None (no reply within `timeout`)."""
        addr = addr or (self.addr if ":" not in src else "::1")
        if tcp:
            return tcp_from(src, addr, self.port, data, timeout)
        return udp_from(src, addr, self.port, data, timeout)

    def ask(self, src, name, qtype="A", tcp=False, edns=None, addr=None, timeout=2.0):
        """A parsed reply to `name qtype` sent from `src`; fails when there is none."""
        reply = self.raw_from(src, build_query(name, qtype, edns=edns), tcp=tcp, addr=addr,
                              timeout=timeout)
        if reply is None:
            raise AssertionError(f"no {'TCP' if tcp else 'UDP'} answer to {name} {qtype} "
                                 f"from {src} within {timeout}s")
        return parse(reply)

    def kdig_from(self, src, name, qtype="A", *opts, addr=None, **kw):
        addr = addr or (self.addr if ":" not in src else "::1")
        return kdig_from(src, addr, self.port, name, qtype, *opts, **kw)


class PolicyTestCase(SinkholedTestCase):
    """Assertions for synthesized answers."""

    def start_policy_sinkholed(self, upstreams, policy_yaml, files=None, **kw):
        s = PolicySinkholed(upstreams, policy_yaml, files, **kw)
        self.addCleanup(s.cleanup)
        return s.start()

    @classmethod
    def class_policy_sinkholed(cls, upstreams, policy_yaml, files=None, **kw):
        s = PolicySinkholed(upstreams, policy_yaml, files, **kw)
        cls.addClassCleanup(s.cleanup)
        return s.start()

    def assertSynthSoa(self, msg, owner, ttl, serial=None):
        """Exactly one SOA in the authority section, owned by `owner`:
        `owner SOA owner hostmaster.owner <serial> 3600 600 86400 <ttl>`, TTL `ttl`
        (and the serial, the policy generation, when given)."""
        owner = owner.rstrip(".").lower() + "."
        soas = msg.records("authority", "SOA")
        self.assertEqual(len(soas), 1, f"want one SOA in authority: {msg!r}")
        self.assertEqual(len(msg.authority), 1, f"authority must hold only the SOA: {msg!r}")
        soa = soas[0]
        self.assertEqual(soa.name.lower(), owner, f"SOA owner: {msg!r}")
        self.assertEqual(soa.ttl, ttl, f"SOA TTL: {msg!r}")
        v = soa.value()
        self.assertEqual((v["mname"], v["rname"], v["refresh"], v["retry"], v["expire"],
                          v["minimum"]),
                         (owner, "hostmaster." + owner, 3600, 600, 86400, ttl),
                         f"SOA rdata: {msg!r}")
        if serial is not None:
            self.assertEqual(v["serial"], serial, f"SOA serial (generation): {msg!r}")
        return v

    def assertNoSoa(self, msg):
        self.assertEqual(msg.records("authority", "SOA"), [], f"unexpected SOA: {msg!r}")

    def assertEde(self, msg, code, text=None):
        """One EDE option with `code` (and `text` when given)."""
        self.assertIsNotNone(msg.opt, f"no OPT in the reply: {msg!r}")
        got = ede_of(msg)
        self.assertEqual([c for c, _ in got], [code], f"EDE codes: {got} in {msg!r}")
        if text is not None:
            self.assertEqual(got[0][1], text, f"EDE text: {msg!r}")

    def assertNoEde(self, msg):
        self.assertEqual(ede_of(msg), [], f"unexpected EDE: {msg!r}")
