# SPDX-License-Identifier: MIT
"""The processes the integration tests run, and the test case that owns them.

Everything runs on loopback only (127.0.0.0/8 and ::1). Each fixture picks its own random
127.x.y.z address and high port so that test scripts can run in parallel, starts its child
processes in the foreground and stops them by PID.

  - `sinkholed_binary()` ($SINKHOLED, else the build tree), `KNOTD`, `KDIG`;
  - addresses and ports: `random_loopback()`, `free_port()`, `free_tcp_port()`,
    `require_ipv6()`, `unused_port_upstream()`;
  - `kdig()`: the real kdig with +json, its reply read into a dnswire `Reply`;
  - `Knot`: a real knotd authoritative upstream with the zones of zones.py;
  - `Sinkholed`: the daemon under test, with `stats()` (SIGUSR1) and `stop()` (SIGTERM,
    asserts exit 0);
  - `SinkholedTestCase`: fixtures that are always cleaned up, counter and answer
    assertions; `run_concurrently()`.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

from dnswire import (NOERROR, Reply, build_query, family_of, parse, rcode_text, tcp_exchange,
                     tcp_query, udp_exchange, udp_query)
from zones import SIGNED_ZONES, zone_files

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"


def sinkholed_binary():
    path = os.environ.get("SINKHOLED")
    if not path:
        path = os.path.join(REPO, "build", "resolver", "programs", "sinkholed")
    if not os.path.exists(path):
        raise RuntimeError(f"sinkholed binary not found at {path}; set SINKHOLED")
    return path


# ---------------------------------------------------------------------------------------
# Addresses and ports
# ---------------------------------------------------------------------------------------

_rng = random.SystemRandom()


def random_loopback():
    """A random 127.x.y.z address (avoiding 127.0.0.0/16 which other software likes)."""
    return f"127.{_rng.randrange(1, 255)}.{_rng.randrange(0, 256)}.{_rng.randrange(1, 255)}"


def port_is_free(addr, port):
    fam = family_of(addr)
    socks = []
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(fam, kind)
            socks.append(s)
            s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(addrs):
    """A random high port free for UDP and TCP on every address in `addrs`."""
    for _ in range(200):
        port = _rng.randrange(20000, 60000)
        if all(port_is_free(a, port) for a in addrs):
            return port
    raise RuntimeError("no free port found")


def free_tcp_port(addr="127.0.0.1"):
    """A TCP port the kernel just handed out on `addr` (for HTTP listeners)."""
    with socket.socket(family_of(addr), socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def require_ipv6():
    """The tests listen and ask on ::1 too: a machine without it fails them, loudly."""
    if not have_ipv6():
        raise RuntimeError("::1 is not available on this machine; the integration tests "
                           "need IPv6 loopback")


def scrape_metrics(port, host="127.0.0.1", timeout=10):
    """The text of http://host:port/metrics (sinkholed's metrics listener)."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as r:
        return r.read().decode()


def unused_port_upstream():
    """An address:port where nothing listens (UDP gets ICMP port unreachable)."""
    addr = random_loopback()
    return addr, free_port([addr])


def stop_process(proc, sig=signal.SIGTERM, timeout=5.0):
    """Stops one child by its PID (SIGKILL after `timeout`); its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


# ---------------------------------------------------------------------------------------
# kdig
# ---------------------------------------------------------------------------------------

class KdigResult:
    """kdig's answer. Attribute access falls through to `msg`, the `Reply` of the message
    kdig printed as RFC 8427 JSON (+json), rebuilt with dnspython. There is no wire form:
    `size` is kdig's msgLength, the size received."""

    def __init__(self, argv, proc, msg, size):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.msg = msg
        self.size = size

    def __getattr__(self, name):
        msg = self.__dict__.get("msg")
        if msg is None:
            raise AssertionError(f"kdig got no answer: {' '.join(self.argv)}\n{self.stdout}"
                                 f"\n{self.stderr}")
        return getattr(msg, name)

    def __repr__(self):
        return f"<kdig {' '.join(self.argv[1:])} → {self.msg!r} size={self.size}>"


def kdig(server, port, name, qtype="A", *opts, qclass=None, tcp=False, timeout=3, retries=0):
    """Runs kdig against server@port and returns a KdigResult whose attributes are those of
    the parsed reply (rcode, answer, opt, ...). Extra kdig options go in `opts` (e.g.
    "+dnssec", "+bufsize=4096", "+noedns", "+cd", "+nsid", "-b", source)."""
    argv = [KDIG, f"@{server}", "-p", str(port), "+json", f"+timeout={timeout}",
            f"+retry={retries}", "+tcp" if tcp else "+notcp", "+ignore"]
    if qclass:
        argv += ["-c", qclass]
    argv += list(opts) + ["-q", name, "-t", str(qtype)]
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout * (retries + 1) + 10)
    msg, size = None, None
    for obj in reversed(_json_objects(proc.stdout)):
        if obj.get("QR") == 1 and "ID" in obj:
            msg, size = Reply(message_from_json(obj)), obj.get("msgLength")
            break
    return KdigResult(argv, proc, msg, size)


def _json_objects(text):
    # kdig 3.2 leaves a trailing comma before "}" when a message has no records.
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    dec = json.JSONDecoder()
    objs, pos = [], 0
    while True:
        start = text.find("{", pos)
        if start < 0:
            return objs
        try:
            obj, end = dec.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(obj, dict):
            objs.append(obj)
        pos = end


_JSON_FLAGS = (("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC),
               ("RD", dns.flags.RD), ("RA", dns.flags.RA), ("AD", dns.flags.AD),
               ("CD", dns.flags.CD))


def message_from_json(obj):
    """RFC 8427 JSON (as kdig prints it: names in presentation form, rdata as RDATAHEX) →
    a dns.message.Message with one RR per RRset, in kdig's order."""
    m = dns.message.Message(id=obj["ID"])
    flags = obj.get("Opcode", 0) << 11 | (obj.get("RCODE", 0) & 0xF)
    for key, bit in _JSON_FLAGS:
        if obj.get(key):
            flags |= bit
    m.flags = dns.flags.Flag(flags)
    if "QNAME" in obj:
        m.question.append(dns.rrset.RRset(dns.name.from_text(obj["QNAME"]), obj["QCLASS"],
                                          obj["QTYPE"]))
    for key, section in (("answerRRs", m.answer), ("authorityRRs", m.authority),
                         ("additionalRRs", m.additional)):
        for r in obj.get(key, []):
            data = bytes.fromhex(r.get("RDATAHEX", ""))
            rd = dns.rdata.from_wire(r["CLASS"], r["TYPE"], data, 0, len(data))
            name = dns.name.from_text(r["NAME"])
            if r["TYPE"] == dns.rdatatype.OPT:
                m.opt = dns.rrset.from_rdata(name, r["TTL"], rd)  # CLASS is the payload
                continue
            rrset = dns.rrset.RRset(name, r["CLASS"], r["TYPE"], rd.covers())
            rrset.add(rd, r["TTL"])
            section.append(rrset)
    return m


# ---------------------------------------------------------------------------------------
# knotd
# ---------------------------------------------------------------------------------------

class Knot:
    """A real knotd serving `zone_files()` (or `zones`) on a random 127.x.y.z address and
    port; `signed` zones are DNSSEC-signed before start() returns."""

    def __init__(self, zones=None, signed=SIGNED_ZONES, ipv6=False):
        self.zones = zones if zones is not None else zone_files()
        self.signed = signed
        self.ipv6 = ipv6
        self.dir = None
        self.proc = None
        self.addr = None
        self.port = None

    def _config(self):
        d = self.dir
        listen = [f"{self.addr}@{self.port}"]
        if self.ipv6:
            listen.append(f"::1@{self.port}")
        lines = [
            "server:",
            f'    rundir: "{d}/run"',
            f"    listen: [ {', '.join(listen)} ]",
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "log:",
            "  - target: stderr",
            "    any: info",
            "database:",
            f'    storage: "{d}/db"',
            "policy:",
            "  - id: fast",
            "    algorithm: ecdsap256sha256",
            "    nsec3: off",
            "    ksk-lifetime: 0",
            "    zsk-lifetime: 0",
            "template:",
            "  - id: default",
            f'    storage: "{d}/zones"',
            '    file: "%s.zone"',
            "    journal-content: none",
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "zone:",
        ]
        for z in self.zones:
            lines.append(f"  - domain: {z}.")
            if z in self.signed:
                lines.append("    dnssec-signing: on")
                lines.append("    dnssec-policy: fast")
        return "\n".join(lines) + "\n"

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="knotd-")
        for sub in ("run", "db", "zones"):
            os.mkdir(os.path.join(self.dir, sub))
        for z, text in self.zones.items():
            with open(os.path.join(self.dir, "zones", f"{z}.zone"), "w") as f:
                f.write(text)
        for attempt in range(5):
            self.addr = random_loopback()
            addrs = [self.addr] + (["::1"] if self.ipv6 else [])
            if self.ipv6:
                require_ipv6()
            self.port = free_port(addrs)
            self.conf = os.path.join(self.dir, "knot.conf")
            with open(self.conf, "w") as f:
                f.write(self._config())
            self.log = open(os.path.join(self.dir, "knotd.log"), "wb")
            self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=self.log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._wait_ready():
                return self
            stop_process(self.proc)
            self.log.close()
        raise RuntimeError(f"knotd did not start:\n{self.log_text()}")

    def _wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        pending = set(self.zones)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            for z in list(pending):
                reply = udp_exchange(self.addr, self.port,
                                     build_query(z + ".", "SOA", edns={"do": True}),
                                     timeout=0.3)
                if reply is None:
                    continue
                m = parse(reply)
                if m.rcode != NOERROR or not m.records("answer", "SOA"):
                    continue
                if z in self.signed and not m.records("answer", "RRSIG"):
                    continue  # signing not done yet
                pending.discard(z)
            if not pending:
                return True
            time.sleep(0.05)
        return False

    def kill(self, sig=signal.SIGKILL):
        """The upstream dies (SIGKILL) or hangs (SIGSTOP; `resume()` continues it)."""
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(5)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        """After kill(): knotd again on the same address and port, with the same zones and
        keys; returns once it answers for every zone."""
        self.log.close()
        self.log = open(os.path.join(self.dir, "knotd.log"), "ab")
        self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not self._wait_ready():
            raise RuntimeError(f"knotd did not restart:\n{self.log_text()}")
        return self

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "knotd.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            self.log.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @property
    def upstream(self):
        return f"{self.addr}:{self.port}"

    def query(self, name, qtype="A", **kw):
        """Asks knotd directly (reference answers)."""
        return udp_query(self.addr, self.port, build_query(name, qtype, **kw))


# ---------------------------------------------------------------------------------------
# sinkholed
# ---------------------------------------------------------------------------------------

def yaml_scalar(v):
    if isinstance(v, (list, tuple)):
        return _yaml_list(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))


def _yaml_list(items):
    return "[" + ", ".join(json.dumps(str(i)) for i in items) + "]"


STATS_RE = re.compile(r"stats (\{.*\})")


class Sinkholed:
    """The daemon under test, configured from Python values.

    `upstreams`: list of "addr:port" (or "[::1]:port"). `server`, `upstream`, `cache`, `log`:
    extra keys for those sections. The cache is off unless a test passes `cache`:
    forwarding tests compare exact TTLs and count upstream queries (test_cache.py covers
    the cache). Listens on a random 127.x.y.z and, when `ipv6`, on ::1, both with the same
    random port (a machine without ::1 fails start() unless `ipv6` is False). Its lock files
    and (unless the config sets one) control socket are in its own `runtime_dir`. `env`: extra
    environment variables for the daemon (e.g. NOTIFY_SOCKET;
    None removes one); `exec_prefix`: argv run in front of the binary (a wrapper that execs
    it).
    """

    def __init__(self, upstreams, server=None, upstream=None, log_level="info", ipv6=True,
                 workers=1, listen=None, cache=None, env=None, exec_prefix=(), log=None):
        self.upstreams = list(upstreams)
        self.server = dict(server or {})
        self.server.setdefault("workers", workers)
        self.upstream_opts = dict(upstream or {})
        self.cache_opts = dict(cache or {"max_bytes": 0})
        self.log_level = log_level
        self.log_opts = dict(log or {})  # more keys of the log section
        self.ipv6 = ipv6
        self.listen = listen
        self.env = dict(env or {})
        self.exec_prefix = list(exec_prefix)
        self.proc = None
        self.dir = None

    # -- lifecycle --------------------------------------------------------------------
    def config_text(self):
        lines = ["server:", f"  listen: {_yaml_list(self.listen_strings())}"]
        for k, v in self.server.items():
            lines.append(f"  {k}: {yaml_scalar(v)}")
        if "runtime_dir" not in self.server:
            # Its own lock files and control socket: parallel tests never share them.
            lines.append(f"  runtime_dir: {yaml_scalar(self.runtime_dir)}")
        if "state_dir" not in self.server:
            # Its own feed copies and audit log, kept across restarts of this object.
            lines.append(f"  state_dir: {yaml_scalar(self.state_dir)}")
        lines.append(f"upstreams: {_yaml_list(self.upstreams)}")
        if self.upstream_opts:
            lines.append("upstream:")
            for k, v in self.upstream_opts.items():
                lines.append(f"  {k}: {yaml_scalar(v)}")
        if self.cache_opts:
            lines.append("cache:")
            for k, v in self.cache_opts.items():
                lines.append(f"  {k}: {yaml_scalar(v)}")
        lines += ["log:", f"  level: {self.log_level}"]
        for k, v in self.log_opts.items():
            lines.append(f"  {k}: {yaml_scalar(v)}")
        return "\n".join(lines) + "\n"

    @property
    def runtime_dir(self):
        """server.runtime_dir: the test's own (inside its temp dir) unless `server` set it."""
        return self.server.get("runtime_dir") or os.path.join(self.dir, "run")

    @property
    def state_dir(self):
        """server.state_dir: the test's own (inside its temp dir) unless `server` set it."""
        return self.server.get("state_dir") or os.path.join(self.dir, "state")

    @property
    def control_socket(self):
        """The control socket when the config does not set one: in the runtime dir."""
        return os.path.join(self.runtime_dir, "control.sock")

    def listen_strings(self):
        out = [f"{self.addr}:{self.port}"]
        if self.ipv6:
            out.append(f"[::1]:{self.port}")
        return out

    def start(self, timeout=5.0):
        if self.ipv6:
            require_ipv6()
        self.dir = tempfile.mkdtemp(prefix="sinkholed-")
        last = ""
        for attempt in range(4):
            if self.listen:
                self.addr, self.port = self.listen
            else:
                self.addr = random_loopback()
                self.port = free_port([self.addr] + (["::1"] if self.ipv6 else []))
            self.config_path = os.path.join(self.dir, "sinkholed.yaml")
            with open(self.config_path, "w") as f:
                f.write(self.config_text())
            self.stderr_path = os.path.join(self.dir, "stderr.log")
            self._stderr = open(self.stderr_path, "wb")
            self.proc = subprocess.Popen(
                self.exec_prefix + [sinkholed_binary(), "--config", self.config_path],
                stdout=self._stderr, stderr=self._stderr, stdin=subprocess.DEVNULL,
                env=self._environment())
            if self._wait_ready(timeout):
                return self
            last = self.log_text()
            stop_process(self.proc, signal.SIGKILL)
            self._stderr.close()
            if self.listen:
                break
        raise RuntimeError(f"sinkholed did not answer within {timeout}s:\n{last}")

    def restart(self, timeout=5.0):
        """Stops (exit 0 asserted) and starts the daemon again with the same directory,
        config, list files, state_dir, address and port: what survives a restart."""
        self.stop()
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            self.exec_prefix + [sinkholed_binary(), "--config", self.config_path],
            stdout=self._stderr, stderr=self._stderr, stdin=subprocess.DEVNULL,
            env=self._environment())
        if not self._wait_ready(timeout):
            raise RuntimeError(f"sinkholed did not answer within {timeout}s after a restart:\n"
                               f"{self.log_text()[-3000:]}")
        return self

    def _environment(self):
        if not self.env:
            return None
        merged = {**os.environ, **self.env}
        return {k: v for k, v in merged.items() if v is not None}

    def endpoints(self):
        """[(addr, port)] for every listen address."""
        out = [(self.addr, self.port)]
        if self.ipv6:
            out.append(("::1", self.port))
        return out

    def _wait_ready(self, timeout):
        # CH TXT version.bind is answered locally (REFUSED or the version), never upstream.
        deadline = time.monotonic() + timeout
        for addr, port in self.endpoints():
            while True:
                if self.proc.poll() is not None:
                    return False
                if time.monotonic() > deadline:
                    return False
                reply = udp_exchange(addr, port, build_query("version.bind.", "TXT", "CH"),
                                     timeout=0.2)
                if reply is not None:
                    break
            while True:
                if time.monotonic() > deadline:
                    return False
                try:
                    tcp_exchange(addr, port, build_query("version.bind.", "TXT", "CH"),
                                 timeout=0.5)
                    break
                except (OSError, EOFError):
                    time.sleep(0.05)
        return True

    def log_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def log_size(self):
        return os.path.getsize(self.stderr_path)

    def log_since(self, offset):
        with open(self.stderr_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stats(self, timeout=5.0, resend_after=1.0):
        """SIGUSR1 → the counters of the `stats {...}` line that follows.

        The signal is sent again when no line follows within `resend_after` seconds: under
        ThreadSanitizer a signal that lands on a thread outside a blocking call waits until
        that thread next enters the runtime, and one such SIGUSR1, sent right after start-up,
        was never answered in CI (a later one was). Each resend is reported on stderr, so
        a daemon that really ignores the signal still fails here after `timeout`, and a
        slow delivery is visible in the test's output."""
        assert self.running(), f"sinkholed is not running:\n{self.log_text()[-3000:]}"
        before = self.log_size()
        self.proc.send_signal(signal.SIGUSR1)
        start = time.monotonic()
        deadline = start + timeout
        next_send = start + resend_after
        sends = 1
        while time.monotonic() < deadline:
            if time.monotonic() >= next_send:
                self.proc.send_signal(signal.SIGUSR1)
                sends += 1
                next_send += resend_after
                print(f"stats(): no stats line {time.monotonic() - start:.1f}s after SIGUSR1; "
                      f"sent it again ({sends} sends)", file=sys.stderr, flush=True)
            new = self.log_since(before)
            found = None
            for line in new.splitlines():
                m = STATS_RE.search(line)
                if m:
                    found = m.group(1)
            if found is not None and new.endswith("\n"):
                return json.loads(found)
            time.sleep(0.02)
        raise AssertionError(f"no stats line after SIGUSR1 within {timeout}s:\n"
                             f"{self.log_text()[-3000:]}")

    def signal_stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Sends `sig` and returns (exit code, seconds taken); kills after timeout (code None)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            code = None
        return code, time.monotonic() - t0

    def forget_exited(self):
        """After a test stopped the process itself and checked its exit: nothing left to
        stop at cleanup."""
        self.proc = None
        self._stderr.close()

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Stops the daemon with `sig`; raises AssertionError unless it exits 0 in time."""
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            code = self.proc.returncode
            how = "had already exited"
        else:
            code, _ = self.signal_stop(sig, timeout)
            how = f"after {sig.name}"
        self.forget_exited()
        if code != 0:
            raise AssertionError(
                f"sinkholed {how}: exit code {code} (None = still running after {timeout}s)"
                f"\n--- stderr tail ---\n{self.log_text()[-4000:]}")

    def cleanup(self):
        """Cleanup hook: stop (asserting exit 0) and remove the temp dir."""
        try:
            self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                stop_process(self.proc, signal.SIGKILL)
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    # -- queries ------------------------------------------------------------------------
    def udp(self, data, addr=None, timeout=3.0):
        return udp_query(addr or self.addr, self.port, data, timeout)

    def tcp(self, data, addr=None, timeout=3.0):
        return tcp_query(addr or self.addr, self.port, data, timeout)

    def udp_raw(self, data, addr=None, timeout=1.0):
        """Reply bytes or None."""
        return udp_exchange(addr or self.addr, self.port, data, timeout)

    def kdig(self, name, qtype="A", *opts, addr=None, **kw):
        return kdig(addr or self.addr, self.port, name, qtype, *opts, **kw)


def delta(after, before, *names):
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


# ---------------------------------------------------------------------------------------
# The test case
# ---------------------------------------------------------------------------------------

class SinkholedTestCase(unittest.TestCase):
    """Fixtures that are always cleaned up; a sinkholed that does not exit 0 on SIGTERM
    at cleanup fails the test (or the class, for class fixtures)."""

    maxDiff = None

    @classmethod
    def class_knot(cls, **kw):
        k = Knot(**kw)
        cls.addClassCleanup(k.stop)
        return k.start()

    @classmethod
    def class_sinkholed(cls, upstreams, **kw):
        s = Sinkholed(upstreams, **kw)
        cls.addClassCleanup(s.cleanup)
        return s.start()

    @classmethod
    def class_fake(cls, fake):
        cls.addClassCleanup(fake.stop)
        return fake.start()

    def start_knot(self, **kw):
        k = Knot(**kw)
        self.addCleanup(k.stop)
        return k.start()

    def start_sinkholed(self, upstreams, **kw):
        s = Sinkholed(upstreams, **kw)
        self.addCleanup(s.cleanup)
        return s.start()

    def start_fake(self, fake):
        self.addCleanup(fake.stop)
        return fake.start()

    def _counter_deltas(self, server, before, timeout, expected, settled):
        """Polls stats until `settled(deltas)` or the timeout (a counter may be bumped just
        after the reply left); returns (stats, deltas of the expected counters)."""
        deadline = time.monotonic() + timeout
        while True:
            after = server.stats()
            missing = [k for k in expected if k not in after]
            self.assertEqual(missing, [], f"counters missing from stats: {sorted(after)}")
            got = {k: after[k] - before.get(k, 0) for k in expected}
            if settled(got) or time.monotonic() > deadline:
                return after, got
            time.sleep(0.1)

    def assertCounters(self, server, before, timeout=3.0, **expected):
        """Every named counter moved by exactly the expected amount."""
        after, got = self._counter_deltas(server, before, timeout, expected,
                                          lambda got: got == expected)
        self.assertEqual(got, expected, "counter deltas")
        return after

    def assertCountersAtLeast(self, server, before, timeout=3.0, **expected):
        after, got = self._counter_deltas(
            server, before, timeout, expected,
            lambda got: all(got[k] >= v for k, v in expected.items()))
        for k, v in expected.items():
            self.assertGreaterEqual(got[k], v, f"counter {k} moved by {got[k]}, want >= {v}")
        return after

    def assertAnswerIs(self, msg, rcode, answers):
        """rcode and the answer section as a sorted list of (name, type, ttl, value)."""
        self.assertEqual(msg.rcode_name, rcode_text(rcode), repr(msg))
        got = sorted((r.name.lower(), r.type_name, r.ttl, _hashable(r.value()))
                     for r in msg.answer)
        want = sorted((n.lower(), t, ttl, _hashable(v)) for n, t, ttl, v in answers)
        self.assertEqual(got, want, repr(msg))


def _hashable(v):
    if isinstance(v, list):
        return tuple(v)
    if isinstance(v, dict):
        return tuple(sorted(v.items()))
    return v


def run_concurrently(fns, timeout=10):
    """Runs the callables in threads at once; returns their results (exceptions re-raised)."""
    results = [None] * len(fns)
    errors = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def run(i, fn):
        try:
            barrier.wait(timeout)
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True)
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for e in errors:
        if e is not None:
            raise e
    return results
