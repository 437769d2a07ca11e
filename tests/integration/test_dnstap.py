# SPDX-License-Identifier: MIT
"""dnstap: sinkholed logs every client query and every answer it sends as dnstap frames to a
Frame Streams collector — the real `fstrm_capture` (fstrm-bin) on a Unix socket — and the
captured file is decoded with the real `dnstap-ldns -y`. Each query sent from a known
127.x.y.z (or ::1) source gets exactly one CLIENT_QUERY and one CLIENT_RESPONSE with the
right addresses, ports, transport, question, rcode, identity and version. Without a
collector, with one that dies (and comes back) or one that never answers its handshake,
queries are answered as usual, dnstap messages are dropped and counted, and SIGTERM still
stops the daemon at once. `dnstap: {file: ...}` writes the same frames to a file."""

import json
import os
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

import dns.flags
import dns.message

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnswire import (  # noqa: E402
    FORMERR, build_query, family_of, parse, tcp_frame, tcp_read_message,
)
from processes import (  # noqa: E402
    Sinkholed, SinkholedTestCase, delta, random_loopback, sinkholed_binary,
)

FSTRM_CAPTURE = shutil.which("fstrm_capture") or "/usr/bin/fstrm_capture"
DNSTAP_LDNS = shutil.which("dnstap-ldns") or "/usr/bin/dnstap-ldns"
CONTENT_TYPE = "protobuf:dnstap.Dnstap"
IDENTITY = "tap-test-1.example"


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(str(v))


class TappedSinkholed(Sinkholed):
    """Sinkholed with a `dnstap:` section."""

    def __init__(self, upstreams, dnstap, **kw):
        super().__init__(upstreams, **kw)
        self.dnstap = dict(dnstap)

    def config_text(self):
        lines = ["dnstap:"] + [f"  {k}: {yaml_value(v)}" for k, v in self.dnstap.items()]
        return super().config_text() + "\n".join(lines) + "\n"


class Collector:
    """fstrm_capture listening on `sock`, writing what it receives to `out`."""

    def __init__(self, directory, name, sock=None):
        self.sock = sock or os.path.join(directory, name + ".sock")
        self.out = os.path.join(directory, name + ".fstrm")
        self.log_path = os.path.join(directory, name + ".log")
        self.proc = None

    def start(self, timeout=5.0):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [FSTRM_CAPTURE, "-t", CONTENT_TYPE, "-u", self.sock, "-w", self.out],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fstrm_capture did not listen on {self.sock}:\n"
                                   f"{self.log_text()}")
            time.sleep(0.02)
        return self

    def _listening(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.sock)  # accepted, then closed before any handshake
                return True
            except OSError:
                return False

    def stop(self, sig=signal.SIGTERM):
        """Stops it (SIGTERM: writes its STOP frame and closes the file); the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        return code

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class StalledCollector:
    """Accepts connections on a Unix socket and never reads or writes: the writer's
    handshake (READY → ACCEPT) never completes."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.conns = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        for c in self.conns + [self.sock]:
            c.close()


class Frame:
    """One decoded dnstap frame (dnstap-ldns -y): top-level fields, message fields, and the
    DNS message text parsed into id, rcode and question."""

    def __init__(self, top, msg, dns_text):
        self.identity = top.get("identity")
        self.version = top.get("version")
        self.type = msg.get("type")
        self.family = msg.get("socket_family")
        self.protocol = msg.get("socket_protocol")
        self.query_address = msg.get("query_address")
        self.query_port = int(msg["query_port"]) if "query_port" in msg else None
        self.response_address = msg.get("response_address")
        self.response_port = int(msg["response_port"]) if "response_port" in msg else None
        self.query_time = msg.get("query_time")
        self.response_time = msg.get("response_time")
        self.dns_text = dns_text
        m = re.search(r"rcode: (\w+), id: (\d+)", dns_text)
        self.rcode = m.group(1) if m else None
        self.id = int(m.group(2)) if m else None
        m = re.search(r";; QUESTION SECTION:\n;(\S+)\s+(\S+)\s+(\S+)", dns_text)
        self.question = (m.group(1).lower(), m.group(2), m.group(3)) if m else None

    def __repr__(self):
        return (f"<{self.type} id={self.id} {self.protocol}/{self.family} "
                f"{self.query_address}#{self.query_port} -> "
                f"{self.response_address}#{self.response_port} q={self.question} "
                f"rcode={self.rcode} identity={self.identity}>")


def decode(path):
    """Every frame of a captured dnstap file, decoded by dnstap-ldns -y."""
    p = subprocess.run([DNSTAP_LDNS, "-y", "-r", path], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"dnstap-ldns -y -r {path} failed ({p.returncode}):\n{p.stderr}")
    frames = []
    doc = []
    for line in p.stdout.splitlines() + ["---"]:
        if line != "---":
            doc.append(line)
            continue
        if not any(l.strip() for l in doc):
            doc = []
            continue
        top, msg, text, block = {}, {}, [], False
        for l in doc:
            if l.startswith("    ") and block:
                text.append(l.strip())
            elif l.startswith("  "):
                key, _, value = l.strip().partition(":")
                value = value.strip()
                block = value == "|"
                if not block:
                    value = value.replace("!!timestamp ", "")
                    msg[key] = value[1:-1] if value.startswith('"') else value
            elif l and l != "message:":
                key, _, value = l.partition(":")
                value = value.strip()
                top[key] = value[1:-1] if value.startswith('"') else value
        frames.append(Frame(top, msg, "\n".join(text)))
        doc = []
    return frames


def sinkholed_version():
    p = subprocess.run([sinkholed_binary(), "--version"], capture_output=True, text=True,
                       timeout=10)
    return p.stdout.strip()


def exchange_from(source, server_addr, port, data, tcp):
    """Sends `data` from `source` (port chosen by the kernel); returns (reply, source port)."""
    fam = family_of(server_addr)
    if tcp:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.bind((source, 0))
            s.connect((server_addr, port))
            s.sendall(tcp_frame(data))
            return parse(tcp_read_message(s)), s.getsockname()[1]
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.bind((source, 0))
        s.sendto(data, (server_addr, port))
        while True:
            reply, src = s.recvfrom(65535)
            if src[1] == port:
                return parse(reply), s.getsockname()[1]


class DnstapTest(SinkholedTestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (FSTRM_CAPTURE, DNSTAP_LDNS):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} is missing: run deploy/install-deps.sh")
        cls.knot = cls.class_knot()
        cls.version = sinkholed_version()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dnstap-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_collector(self, name="collector", sock=None):
        c = Collector(self.dir, name, sock)
        self.addCleanup(c.stop)
        return c.start()

    def start_tapped(self, workers=1, **dnstap):
        s = TappedSinkholed([self.knot.upstream], dnstap, workers=workers)
        self.addCleanup(s.cleanup)
        return s.start()

    def quiet_stats(self, s):
        """Counters once the dnstap counters stopped moving: a reply (the harness's readiness
        probe too) reaches its client a moment before its CLIENT_RESPONSE is counted."""
        keys = ("dnstap_messages", "dnstap_dropped", "dnstap_lost")
        last = s.stats()
        for _ in range(50):
            time.sleep(0.05)
            now = s.stats()
            if all(now[k] == last[k] for k in keys):
                return now
            last = now
        return last

    def ask(self, s, name, qtype, tcp=False, source=None, server_addr=None):
        """One query from `source` (default: a fresh random 127.x.y.z); returns a record of
        what was sent and what came back."""
        server_addr = server_addr or s.addr
        source = source or ("::1" if ":" in server_addr else random_loopback())
        q = build_query(name, qtype, edns=True)
        reply, port = exchange_from(source, server_addr, s.port, q, tcp)
        self.assertEqual(reply.id, parse(q).id)
        return dict(id=parse(q).id, name=name.lower(), qtype=qtype, tcp=tcp, source=source,
                    port=port, server=server_addr, reply=reply)

    def assert_logged(self, frames, sent, server_port, rcode_name):
        """Exactly one CLIENT_QUERY and one CLIENT_RESPONSE for this query, every field."""
        mine = [f for f in frames if f.id == sent["id"] and f.query_address == sent["source"]
                and f.query_port == sent["port"]]
        queries = [f for f in mine if f.type == "CLIENT_QUERY"]
        responses = [f for f in mine if f.type == "CLIENT_RESPONSE"]
        self.assertEqual(len(queries), 1, f"{sent['name']}: {mine}")
        self.assertEqual(len(responses), 1, f"{sent['name']}: {mine}")
        family = "INET6" if ":" in sent["source"] else "INET"
        for f in (queries[0], responses[0]):
            with self.subTest(name=sent["name"], type=f.type):
                self.assertEqual(f.identity, IDENTITY)
                self.assertEqual(f.version, self.version)
                self.assertEqual(f.protocol, "TCP" if sent["tcp"] else "UDP")
                self.assertEqual(f.family, family)
                self.assertEqual(f.response_address, sent["server"])
                self.assertEqual(f.response_port, server_port)
                self.assertIsNotNone(f.query_time)
                if sent["name"] is not None:
                    self.assertEqual(f.question, (sent["name"], "IN", sent["qtype"]))
        self.assertIn(";; flags: rd", queries[0].dns_text)  # the query, not the answer
        self.assertEqual(queries[0].response_time, None)
        self.assertEqual(responses[0].rcode, rcode_name)
        self.assertIn(";; flags: qr", responses[0].dns_text)
        # The answer carries its query's arrival time, and was sent after it.
        self.assertEqual(responses[0].query_time, queries[0].query_time)
        self.assertGreaterEqual(responses[0].response_time, responses[0].query_time)

    def test_every_query_and_answer_reaches_the_collector(self):
        c = self.start_collector()
        # Two workers: two input queues into the one writer.
        s = self.start_tapped(socket=c.sock, identity=IDENTITY, workers=2)
        before = self.quiet_stats(s)
        sent = [
            (self.ask(s, "www.example.test.", "A"), "NOERROR"),
            (self.ask(s, "www.Example.test.", "AAAA", tcp=True), "NOERROR"),
            (self.ask(s, "missing.example.test.", "A"), "NXDOMAIN"),
            (self.ask(s, "c1.example.test.", "A", tcp=True), "NOERROR"),
            (self.ask(s, "example.test.", "MX"), "NOERROR"),
        ]
        self.assertTrue(s.ipv6)
        sent.append((self.ask(s, "mail.example.test.", "A", server_addr="::1"), "NOERROR"))
        sent.append((self.ask(s, "www.example.test.", "TXT", tcp=True, server_addr="::1"),
                     "NOERROR"))
        for q, rcode in sent:
            self.assertEqual(q["reply"].rcode_name, rcode, repr(q["reply"]))
        # A FORMERR (a header without a question) is logged too.
        source = random_loopback()
        bad = dns.message.Message(id=0x5A5A)
        bad.flags = dns.flags.RD
        bad = bad.to_wire()
        reply, port = exchange_from(source, s.addr, s.port, bad, tcp=False)
        self.assertEqual(reply.rcode, FORMERR)
        n = len(sent) + 1
        self.assertCounters(s, before, dnstap_messages=2 * n, dnstap_dropped=0, dnstap_lost=0)

        s.stop()  # SIGTERM: the writer flushes, sends STOP, waits for FINISH
        self.assertEqual(c.stop(), 0, c.log_text())
        frames = decode(c.out)
        for q, rcode in sent:
            self.assert_logged(frames, q, s.port, rcode)
        self.assert_logged(frames, dict(id=0x5A5A, name=None, qtype=None, tcp=False,
                                        source=source, port=port, server=s.addr),
                           s.port, "FORMERR")
        # Nothing but our queries and the harness's readiness probes (CH TXT version.bind).
        others = [f for f in frames
                  if f.question is None or f.question[0] != "version.bind."]
        self.assertEqual(len(others), 2 * n, others)

    def test_client_queries_off_logs_only_answers(self):
        c = self.start_collector()
        s = self.start_tapped(socket=c.sock, identity=IDENTITY, client_queries=False)
        q = self.ask(s, "www.example.test.", "A")
        s.stop()
        self.assertEqual(c.stop(), 0, c.log_text())
        mine = [f for f in decode(c.out) if f.id == q["id"] and f.query_port == q["port"]]
        self.assertEqual([f.type for f in mine], ["CLIENT_RESPONSE"], mine)

    def test_without_a_collector_queries_are_answered_and_drops_counted(self):
        s = self.start_tapped(socket=os.path.join(self.dir, "nobody-listens.sock"))
        before = self.quiet_stats(s)
        n = 0
        for tcp in (False, True):
            for name, qtype in (("www.example.test.", "A"), ("missing.example.test.", "A"),
                                ("example.test.", "MX")):
                with self.subTest(name=name, tcp=tcp):
                    got = self.ask(s, name, qtype, tcp=tcp)["reply"]
                    want = self.knot.query(name, qtype)
                    self.assertEqual(got.rcode, want.rcode)
                    self.assertEqual(sorted(map(repr, got.answer)), sorted(map(repr, want.answer)))
                    n += 1
        self.assertCounters(s, before, dnstap_dropped=2 * n, dnstap_messages=0)
        self.assertIn("no collector", s.log_text())

    def test_collector_that_dies_and_comes_back(self):
        c = self.start_collector()
        s = self.start_tapped(socket=c.sock, identity=IDENTITY)
        self.ask(s, "www.example.test.", "A")
        c.stop(signal.SIGKILL)
        before = self.quiet_stats(s)
        # The daemon answers as before; what it cannot log is dropped or lost, and counted.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for tcp in (False, True):
                r = self.ask(s, "www.example.test.", "A", tcp=tcp)["reply"]
                self.assertEqual(r.values("A"), ["192.0.2.1"])
            time.sleep(0.1)
        after = s.stats()
        self.assertGreater(delta(after, before, "dnstap_dropped")["dnstap_dropped"]
                           + delta(after, before, "dnstap_lost")["dnstap_lost"], 0)

        # A new collector on the same path: the writer reconnects within seconds.
        c2 = self.start_collector("collector2", sock=c.sock)
        before = self.quiet_stats(s)
        deadline = time.monotonic() + 15
        while s.stats()["dnstap_messages"] == before["dnstap_messages"]:
            self.assertLess(time.monotonic(), deadline, "no reconnection to the collector")
            self.ask(s, "www.example.test.", "A")
            time.sleep(0.2)
        marker = self.ask(s, "mail.example.test.", "A", tcp=True)
        s.stop()
        self.assertEqual(c2.stop(), 0, c2.log_text())
        self.assert_logged(decode(c2.out), marker, s.port, "NOERROR")

    def test_stalled_collector_blocks_neither_answers_nor_shutdown(self):
        stalled = StalledCollector(os.path.join(self.dir, "stalled.sock"))
        self.addCleanup(stalled.stop)
        s = self.start_tapped(socket=stalled.path)
        before = self.quiet_stats(s)
        n = 0
        for i in range(10):
            t0 = time.monotonic()
            r = self.ask(s, "www.example.test.", "A", tcp=bool(i % 2))["reply"]
            self.assertEqual(r.values("A"), ["192.0.2.1"])
            self.assertLess(time.monotonic() - t0, 1.0)
            n += 1
        self.assertCounters(s, before, dnstap_dropped=2 * n, dnstap_messages=0)
        code, seconds = s.signal_stop()
        self.assertEqual(code, 0, s.log_text()[-3000:])
        self.assertLess(seconds, 3.5)  # the writer gives a silent collector 1 s at most
        s.stop()  # already exited: only checks the exit code again

    def test_file_output(self):
        path = os.path.join(self.dir, "tap.fstrm")
        s = self.start_tapped(file=path, identity=IDENTITY)
        before = self.quiet_stats(s)
        q = self.ask(s, "www.example.test.", "AAAA")
        t = self.ask(s, "missing.example.test.", "A", tcp=True)
        self.assertCounters(s, before, dnstap_messages=4, dnstap_dropped=0)
        s.stop()
        frames = decode(path)
        self.assert_logged(frames, q, s.port, "NOERROR")
        self.assert_logged(frames, t, s.port, "NXDOMAIN")


if __name__ == "__main__":
    unittest.main(verbosity=2)
