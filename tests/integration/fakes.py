# SPDX-License-Identifier: MIT
"""Fake upstreams for the fault tests: small Python DNS servers on a random 127.x.y.z
address (UDP, and TCP when asked) whose answers a test chooses.

  - `FakeUpstream(handler)`: records every query (`seen`, `queries()`) and sends what the
    handler returns, each reply after its own delay;
  - `answer_for()`: a response to a query built with dnspython (A records, chosen rcode,
    TC, ID, question, EDNS);
  - handlers: `wrong_id_handler`, `wrong_question_handler`, `proxy_handler` (relays to a
    real server, optionally late), `tc_handler`, `rcode_handler`;
  - `BlackHole` (never answers) and `RecordingProxy` (relays to knotd, records);
  - `ZoneDropProxy` (relays to knotd, drops one zone's queries: a black-holed zone; fast
    enough for a dnsperf flood).
"""

import select
import socket
import struct
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dnswire import (EDNS_DO, NOERROR, ParseError, edns_option, parse, tcp_exchange,
                     tcp_frame, udp_exchange)
from processes import free_port, random_loopback

FAKE_IP = "192.0.2.123"  # what FakeUpstream answers by default


def answer_for(query, ips=(FAKE_IP,), ttl=60, rcode=NOERROR, tc=False, id=None,
               question=None, aa=True, edns=None):
    """A response to `query` (bytes): A records `ips` (none when `tc`) owned by the
    question name, the query's RD, CD and opcode echoed.

    `id`: another ID than the query's. `question`: (name, qtype, qclass) to answer instead
    of the query's own question (kept byte for byte otherwise). `edns`: None mirrors the
    query (an OPT with payload 1232 and its DO bit only if it sent one), False sends no
    OPT, a dict {payload, do, flags, options: [(code, bytes)]} sends that OPT."""
    q = parse(query).msg
    r = dns.message.Message(id=q.id if id is None else id)
    r.flags = dns.flags.Flag(dns.flags.QR | (q.flags & (dns.flags.RD | dns.flags.CD))
                             | (dns.flags.AA if aa else 0) | (dns.flags.TC if tc else 0))
    r.set_opcode(q.opcode())
    r.set_rcode(rcode)
    if question is None:
        r.question = list(q.question)
    else:
        name, qtype, qclass = question
        r.question = [dns.rrset.RRset(dns.name.from_text(name),
                                      dns.rdataclass.RdataClass.make(qclass),
                                      dns.rdatatype.RdataType.make(qtype))]
    if ips and not tc:
        rrset = dns.rrset.RRset(r.question[0].name, dns.rdataclass.IN, dns.rdatatype.A)
        for ip in ips:
            rrset.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.A, ip), ttl)
        r.answer.append(rrset)
    if edns is None and q.opt is not None:
        edns = {"do": bool(q.ednsflags & EDNS_DO)}
    if edns:
        r.use_edns(0, (EDNS_DO if edns.get("do") else 0) | edns.get("flags", 0),
                   edns.get("payload", 1232),
                   options=[edns_option(c, d) for c, d in edns.get("options", ())])
    return r.to_wire(want_shuffle=False)


class FakeUpstream:
    """A Python DNS server on a random 127.x.y.z address: UDP (and TCP when `tcp`).

    `handler(query_bytes, transport) → list of (delay_seconds, reply_bytes)`; the default
    answers A 192.0.2.123. Every query is recorded in `seen` as a dict with transport,
    src addr and port, id, qname (as sent), qtype, do bit, has_opt, time and wire.
    """

    def __init__(self, handler=None, tcp=False, addr=None, port=None):
        self.handler = handler or (lambda q, t: [(0, answer_for(q))])
        self.want_tcp = tcp
        self.addr = addr or random_loopback()
        self.port = port or free_port([self.addr])
        self.seen = []
        self.lock = threading.Lock()
        self.tcp_connections = 0
        self._stop = threading.Event()
        self._threads = []
        self.udp_sock = None
        self.tcp_sock = None

    @property
    def upstream(self):
        return f"{self.addr}:{self.port}"

    def start(self):
        self.udp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp_sock.bind((self.addr, self.port))
        self.udp_sock.settimeout(0.1)
        self._spawn(self._udp_loop)
        if self.want_tcp:
            self.tcp_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.tcp_sock.bind((self.addr, self.port))
            self.tcp_sock.listen(16)
            self.tcp_sock.settimeout(0.1)
            self._spawn(self._tcp_accept_loop)
        return self

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _record(self, data, transport, src):
        entry = dict(transport=transport, port=src[1], addr=src[0], id=None, qname=None,
                     qtype=None, do=False, has_opt=False, time=time.monotonic(), wire=data)
        try:
            m = parse(data)
            entry.update(id=m.id, qname=m.questions[0][0] if m.questions else None,
                         qtype=m.questions[0][1] if m.questions else None,
                         do=m.do, has_opt=m.opt is not None)
        except ParseError:
            pass
        with self.lock:
            self.seen.append(entry)

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                data, src = self.udp_sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self._record(data, "udp", src)
            try:
                replies = self.handler(data, "udp")
            except Exception as e:  # noqa: BLE001 - a broken handler must not kill the thread
                print(f"fake upstream handler error: {e!r}", file=sys.stderr)
                continue
            for delay, reply in replies:
                self._send_later(delay, lambda r=reply, s=src: self.udp_sock.sendto(r, s))

    def _send_later(self, delay, fn):
        def run():
            if delay and self._stop.wait(delay):
                return
            try:
                fn()
            except OSError:
                pass
        if delay:
            self._spawn(run)
        else:
            run()

    def _tcp_accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, src = self.tcp_sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.tcp_connections += 1
            self._spawn(self._tcp_conn, conn, src)

    def _tcp_conn(self, conn, src):
        conn.settimeout(0.2)
        lock = threading.Lock()
        try:
            buf = b""
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 2:
                    n = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + n:
                        break
                    data, buf = buf[2:2 + n], buf[2 + n:]
                    self._record(data, "tcp", src)
                    for delay, reply in self.handler(data, "tcp"):
                        def send(r=reply):
                            with lock:
                                conn.sendall(tcp_frame(r))
                        self._send_later(delay, send)
        except OSError:
            pass
        finally:
            if not self._stop.is_set():
                time.sleep(0.05)
            try:
                conn.close()
            except OSError:
                pass

    def queries(self, qname=None, transport=None):
        with self.lock:
            out = list(self.seen)
        if qname is not None:
            out = [e for e in out if e["qname"] and e["qname"].lower() == qname.lower()]
        if transport is not None:
            out = [e for e in out if e["transport"] == transport]
        return out

    def stop(self):
        self._stop.set()
        for s in (self.udp_sock, self.tcp_sock):
            if s is not None:
                s.close()
        for t in self._threads:
            t.join(2)


class BlackHole(FakeUpstream):
    """Reads every query and never answers (UDP; TCP accepts and never answers too)."""

    def __init__(self, **kw):
        super().__init__(handler=lambda q, t: [], **kw)


def wrong_id_handler(query, transport):
    """Answers 198.51.100.66 with the query's ID + 1."""
    q = parse(query)
    return [(0, answer_for(query, ips=("198.51.100.66",), id=(q.id + 1) & 0xFFFF))]


def wrong_question_handler(query, transport):
    """Answers 198.51.100.67 for spoofed-<first label>.<rest> instead of the question."""
    name, qt, qc = parse(query).questions[0]
    first, rest = name.split(".", 1)
    return [(0, answer_for(query, ips=("198.51.100.67",),
                           question=(f"spoofed-{first}.{rest}", qt, qc)))]


def proxy_handler(addr, port, delay=0.0):
    """A handler that forwards each query to a real server (knotd) and relays its reply
    after `delay` seconds: a slow but correct upstream."""
    def handle(query, transport):
        if transport == "tcp":
            reply = tcp_exchange(addr, port, query, timeout=3)
        else:
            reply = udp_exchange(addr, port, query, timeout=3)
        return [] if reply is None else [(delay, reply)]
    return handle


def tc_handler(ips=("192.0.2.31", "192.0.2.32", "192.0.2.33")):
    """TC=1 (no records) over UDP; the full answer over TCP."""
    def handle(query, transport):
        if transport == "udp":
            return [(0, answer_for(query, tc=True))]
        return [(0, answer_for(query, ips=ips))]
    return handle


def rcode_handler(rcode):
    return lambda q, t: [(0, answer_for(q, ips=(), rcode=rcode))]


class RecordingProxy(FakeUpstream):
    """An upstream that relays every query to a real server (knotd) and records it: the
    `seen` list proves which names reached the upstream."""

    def __init__(self, knot):
        super().__init__(handler=proxy_handler(knot.addr, knot.port), tcp=True)


class ZoneDropProxy:
    """An upstream that relays every UDP query to a real server (knotd) except those for
    names under `zone`, which it reads and drops: a black-holed zone behind a healthy
    upstream. One thread and one socket each way (queries are renumbered towards knotd), so
    it keeps up with thousands of queries a second. `dropped` and `relayed` count."""

    def __init__(self, knot, zone, addr=None):
        self.target = (knot.addr, knot.port)
        self.suffix = dns.name.from_text(zone)
        self.addr = addr or random_loopback()
        self.port = free_port([self.addr])
        self.dropped = 0
        self.relayed = 0
        self._stop = threading.Event()
        self._thread = None

    @property
    def upstream(self):
        return f"{self.addr}:{self.port}"

    def start(self):
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.front.bind((self.addr, self.port))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(self.target)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _dropped_zone(self, data):
        # The question name, read by hand (no compression in a question): fast enough to
        # keep up with a flood that dnspython would not.
        labels, pos = [], 12
        while pos < len(data) and data[pos]:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n])
            pos += 1 + n
        try:
            name = dns.name.Name(labels + [b""])
        except dns.exception.DNSException:
            return True
        return name.is_subdomain(self.suffix)

    def _loop(self):
        pending = {}  # our id → (client id bytes, client address)
        next_id = 0
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for sock in ready:
                try:
                    data, src = sock.recvfrom(65535)
                except OSError:
                    continue
                if len(data) < 12:
                    continue
                if sock is self.front:
                    if self._dropped_zone(data):
                        self.dropped += 1
                        continue
                    next_id = (next_id + 1) & 0xFFFF
                    pending[next_id] = (data[:2], src)
                    self.relayed += 1
                    try:
                        self.back.send(struct.pack("!H", next_id) + data[2:])
                    except OSError:
                        pass
                else:
                    entry = pending.pop(struct.unpack("!H", data[:2])[0], None)
                    if entry:
                        try:
                            self.front.sendto(entry[0] + data[2:], entry[1])
                        except OSError:
                            pass

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for s in (getattr(self, "front", None), getattr(self, "back", None)):
            if s is not None:
                s.close()
