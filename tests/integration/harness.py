# SPDX-License-Identifier: MIT
"""Shared integration-test harness for sinkholed.

Everything here runs on loopback only (127.0.0.0/8 and ::1). Each fixture picks its own
random 127.x.y.z address and high port so that test scripts can run in parallel, starts its
child processes in the foreground and stops them by PID.

Contents:
  - a tiny DNS wire builder/parser (struct-based) for packets kdig cannot make;
  - raw UDP/TCP helpers (TCP with the 2-byte length prefix);
  - `kdig()` running the real kdig with +json and returning a parsed `Message`;
  - `Knot`: a real knotd authoritative upstream with the zones the tests need;
  - `Sinkholed`: the daemon under test, with `stats()` (SIGUSR1) and `stop()` (SIGTERM);
  - fake Python upstreams for fault tests (black hole, wrong ID, wrong question, TC, slow,
    recording).
"""

import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

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
# DNS constants
# ---------------------------------------------------------------------------------------

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
    "AAAA": 28, "SRV": 33, "DNAME": 39, "OPT": 41, "DS": 43, "RRSIG": 46, "NSEC": 47,
    "DNSKEY": 48, "NSEC3": 50, "NSEC3PARAM": 51, "CDS": 59, "CDNSKEY": 60, "HTTPS": 65,
    "IXFR": 251, "AXFR": 252, "ANY": 255,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = 0, 1, 2, 3, 4, 5, 16
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED", 16: "BADVERS"}

OPCODE_QUERY, OPCODE_IQUERY, OPCODE_STATUS, OPCODE_NOTIFY, OPCODE_UPDATE = 0, 1, 2, 4, 5

F_QR, F_AA, F_TC, F_RD, F_RA, F_AD, F_CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
EDNS_DO = 0x8000
OPT_EDE = 15


def qtype_code(t):
    return t if isinstance(t, int) else TYPES[t.upper()]


def qclass_code(c):
    return c if isinstance(c, int) else CLASSES[c.upper()]


# ---------------------------------------------------------------------------------------
# Building messages
# ---------------------------------------------------------------------------------------

def name_to_wire(name):
    """Presentation name → uncompressed wire bytes, case kept. Accepts bytes labels too."""
    if isinstance(name, bytes):
        return name
    if name in ("", "."):
        return b"\x00"
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label {label!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def header(id=0x1234, flags=F_RD, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", id, flags, qd, an, ns, ar)


def make_flags(qr=False, opcode=0, aa=False, tc=False, rd=True, ra=False, ad=False, cd=False,
               rcode=0, z=False):
    f = (opcode & 0xF) << 11 | (rcode & 0xF)
    f |= F_QR if qr else 0
    f |= F_AA if aa else 0
    f |= F_TC if tc else 0
    f |= F_RD if rd else 0
    f |= F_RA if ra else 0
    f |= F_AD if ad else 0
    f |= F_CD if cd else 0
    f |= 0x0040 if z else 0
    return f


def question(name, qtype="A", qclass="IN"):
    return name_to_wire(name) + struct.pack("!HH", qtype_code(qtype), qclass_code(qclass))


def opt_record(payload=1232, ext_rcode=0, version=0, do=False, flags=0, options=(),
               owner=b"\x00", rdlen=None):
    """An OPT pseudo-record. `options` is a list of (code, bytes). `rdlen` overrides the
    length field (to make lying lengths)."""
    rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
    ttl = (ext_rcode & 0xFF) << 24 | (version & 0xFF) << 16 | (EDNS_DO if do else 0) | flags
    return (owner + struct.pack("!HHIH", 41, payload, ttl,
                                len(rdata) if rdlen is None else rdlen) + rdata)


def rr(name, rtype, rclass, ttl, rdata):
    return name_to_wire(name) + struct.pack("!HHIH", qtype_code(rtype), qclass_code(rclass),
                                            ttl, len(rdata)) + rdata


def build_query(name, qtype="A", qclass="IN", id=None, rd=True, cd=False, ad=False, opcode=0,
                edns=None, authority=(), additional=()):
    """A normal query. `edns` is None (no OPT), True (OPT with defaults) or a dict of
    opt_record() keyword arguments."""
    if id is None:
        id = random.randrange(0, 65536)
    ar = list(additional)
    if edns is not None and edns is not False:
        ar.append(opt_record(**({} if edns is True else edns)))
    flags = make_flags(opcode=opcode, rd=rd, cd=cd, ad=ad)
    return (header(id, flags, 1, 0, len(authority), len(ar)) + question(name, qtype, qclass)
            + b"".join(authority) + b"".join(ar))


def mixed_case(name, rng=random):
    """The same name with random 0x20 case, guaranteed to contain both cases."""
    while True:
        out = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
        letters = [c for c in out if c.isalpha()]
        if any(c.isupper() for c in letters) and any(c.islower() for c in letters):
            return out


# ---------------------------------------------------------------------------------------
# Parsing messages
# ---------------------------------------------------------------------------------------

class ParseError(ValueError):
    pass


def read_name(data, off):
    """Returns (presentation name, offset after the name in place). Follows pointers."""
    labels = []
    end = None
    jumps = 0
    pos = off
    while True:
        if pos >= len(data):
            raise ParseError("name past end")
        b = data[pos]
        if b & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise ParseError("pointer past end")
            target = (b & 0x3F) << 8 | data[pos + 1]
            if end is None:
                end = pos + 2
            jumps += 1
            if jumps > 64 or target >= len(data):
                raise ParseError("bad pointer")
            pos = target
            continue
        if b & 0xC0:
            raise ParseError("bad label type")
        if b == 0:
            pos += 1
            break
        if pos + 1 + b > len(data):
            raise ParseError("label past end")
        labels.append(data[pos + 1:pos + 1 + b])
        pos += 1 + b
    if end is None:
        end = pos
    text = ".".join(l.decode("latin-1") for l in labels) + "."
    return text, end


class Record:
    def __init__(self, name, rtype, rclass, ttl, rdata, msg, rdata_off):
        self.name = name
        self.type = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
        self._msg = msg
        self._off = rdata_off

    @property
    def type_name(self):
        return TYPE_NAMES.get(self.type, f"TYPE{self.type}")

    def value(self):
        """Decoded rdata for common types (names decompressed, lower-cased)."""
        t, d = self.type, self.rdata
        if t == 1:
            return socket.inet_ntop(socket.AF_INET, d)
        if t == 28:
            return socket.inet_ntop(socket.AF_INET6, d)
        if t in (2, 5, 12, 39):
            return read_name(self._msg, self._off)[0].lower()
        if t == 15:
            return (struct.unpack("!H", d[:2])[0], read_name(self._msg, self._off + 2)[0].lower())
        if t in (16, 13):
            strings, pos = [], 0
            while pos < len(d):
                n = d[pos]
                strings.append(d[pos + 1:pos + 1 + n])
                pos += 1 + n
            return strings
        if t == 6:
            mname, p = read_name(self._msg, self._off)
            rname, p = read_name(self._msg, p)
            serial, refresh, retry, expire, minimum = struct.unpack("!IIIII", self._msg[p:p + 20])
            return dict(mname=mname.lower(), rname=rname.lower(), serial=serial,
                        refresh=refresh, retry=retry, expire=expire, minimum=minimum)
        if t == 46:
            covered = struct.unpack("!H", d[:2])[0]
            return dict(type_covered=TYPE_NAMES.get(covered, covered))
        return d

    def __repr__(self):
        try:
            v = self.value()
        except Exception:  # noqa: BLE001 - repr must not fail
            v = self.rdata
        return f"<{self.name} {self.ttl} {self.rclass} {self.type_name} {v!r}>"


class Message:
    """A parsed DNS message. `rcode` is the full (extended) rcode when an OPT is present."""

    def __init__(self, data):
        self.wire = data
        if len(data) < 12:
            raise ParseError("short header")
        (self.id, self.flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!HHHHHH", data[:12])
        pos = 12
        self.questions = []
        qstart = pos
        for _ in range(self.qdcount):
            name, pos = read_name(data, pos)
            if pos + 4 > len(data):
                raise ParseError("short question")
            qt, qc = struct.unpack("!HH", data[pos:pos + 4])
            pos += 4
            self.questions.append((name, qt, qc))
        self.question_bytes = data[qstart:pos]
        sections = []
        for count in (self.ancount, self.nscount, self.arcount):
            recs = []
            for _ in range(count):
                name, pos = read_name(data, pos)
                if pos + 10 > len(data):
                    raise ParseError("record past end")
                rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
                pos += 10
                if pos + rdlen > len(data):
                    raise ParseError("rdata past end")
                recs.append(Record(name, rtype, rclass, ttl, data[pos:pos + rdlen], data, pos))
                pos += rdlen
            sections.append(recs)
        self.answer, self.authority, additional = sections
        self.trailing = data[pos:]
        opts = [r for r in additional if r.type == 41]
        self.opt_count = len(opts)
        self.opt = opts[0] if opts else None
        self.additional = [r for r in additional if r.type != 41]
        self.header_rcode = self.flags & 0xF
        if self.opt is not None:
            self.ext_rcode = self.opt.ttl >> 24
            self.edns_version = (self.opt.ttl >> 16) & 0xFF
            self.edns_flags = self.opt.ttl & 0xFFFF
            self.do = bool(self.opt.ttl & EDNS_DO)
            self.udp_size = self.opt.rclass
            self.options = []
            d, p = self.opt.rdata, 0
            while p + 4 <= len(d):
                code, ln = struct.unpack("!HH", d[p:p + 4])
                self.options.append((code, d[p + 4:p + 4 + ln]))
                p += 4 + ln
            self.rcode = self.ext_rcode << 4 | self.header_rcode
        else:
            self.ext_rcode = self.edns_version = self.edns_flags = self.udp_size = None
            self.do = False
            self.options = []
            self.rcode = self.header_rcode

    qr = property(lambda s: bool(s.flags & F_QR))
    aa = property(lambda s: bool(s.flags & F_AA))
    tc = property(lambda s: bool(s.flags & F_TC))
    rd = property(lambda s: bool(s.flags & F_RD))
    ra = property(lambda s: bool(s.flags & F_RA))
    ad = property(lambda s: bool(s.flags & F_AD))
    cd = property(lambda s: bool(s.flags & F_CD))
    opcode = property(lambda s: (s.flags >> 11) & 0xF)

    @property
    def rcode_name(self):
        return RCODE_NAMES.get(self.rcode, str(self.rcode))

    def records(self, section="answer", rtype=None):
        recs = getattr(self, section)
        if rtype is not None:
            recs = [r for r in recs if r.type == qtype_code(rtype)]
        return recs

    def values(self, rtype, section="answer"):
        return [r.value() for r in self.records(section, rtype)]

    def option(self, code):
        return [d for c, d in self.options if c == code]

    def ede_codes(self):
        return [struct.unpack("!H", d[:2])[0] for d in self.option(OPT_EDE) if len(d) >= 2]

    def __repr__(self):
        return (f"<Message id={self.id} {self.rcode_name} flags={self.flags:#06x} "
                f"q={self.questions} an={self.answer} ns={self.authority} "
                f"ar={self.additional} opt={self.opt is not None} size={len(self.wire)}>")


def parse(data):
    return Message(data)


# ---------------------------------------------------------------------------------------
# Raw sockets
# ---------------------------------------------------------------------------------------

def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_exchange(addr, port, data, timeout=2.0):
    """Sends one datagram, returns the reply bytes or None on timeout."""
    with socket.socket(family_of(addr), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, (addr, port))
        try:
            while True:
                reply, src = s.recvfrom(65535)
                if src[0] == addr and src[1] == port:
                    return reply
        except (socket.timeout, ConnectionRefusedError):
            return None


def udp_query(addr, port, data, timeout=3.0):
    reply = udp_exchange(addr, port, data, timeout)
    if reply is None:
        raise AssertionError(f"no UDP answer from {addr}@{port} within {timeout}s")
    return Message(reply)


def tcp_connect(addr, port, timeout=3.0):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect((addr, port))
    except BaseException:
        s.close()
        raise
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_frame(data):
    return struct.pack("!H", len(data)) + data


def tcp_read_message(s):
    n = struct.unpack("!H", recv_exact(s, 2))[0]
    return recv_exact(s, n)


def tcp_exchange(addr, port, data, timeout=3.0):
    with tcp_connect(addr, port, timeout) as s:
        s.sendall(tcp_frame(data))
        return tcp_read_message(s)


def tcp_query(addr, port, data, timeout=3.0):
    return Message(tcp_exchange(addr, port, data, timeout))


def wait_closed(s, timeout):
    """True when the peer closes (EOF or reset) within `timeout` seconds; data is drained."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return False
        try:
            chunk = s.recv(65535)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if not chunk:
            return True


# ---------------------------------------------------------------------------------------
# Addresses
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


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# kdig
# ---------------------------------------------------------------------------------------

class KdigResult:
    """kdig's answer. Attribute access falls through to `msg`, the reply rebuilt from kdig's
    RFC 8427 JSON (+json) into wire form and parsed as a `Message` (names uncompressed, so
    `len(msg.wire)` is not the received size: use `size`, kdig's msgLength)."""

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
    the parsed reply `Message` (rcode, answer, opt, ...). Extra kdig options go in `opts`
    (e.g. "+dnssec", "+bufsize=4096", "+noedns", "+cd", "+nsid")."""
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
            msg, size = message_from_json(obj), obj.get("msgLength")
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


def _json_name(text):
    if text == ".":
        return b"\x00"
    out = b""
    for label in re.split(r"(?<!\\)\.", text.rstrip(".")):
        raw = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), label)
        raw = re.sub(r"\\(.)", r"\1", raw).encode("latin-1")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def message_from_json(obj):
    """RFC 8427 JSON (as kdig prints it) → wire bytes → Message."""
    flags = (obj.get("QR", 0) << 15 | obj.get("Opcode", 0) << 11 | obj.get("AA", 0) << 10
             | obj.get("TC", 0) << 9 | obj.get("RD", 0) << 8 | obj.get("RA", 0) << 7
             | obj.get("AD", 0) << 5 | obj.get("CD", 0) << 4 | (obj.get("RCODE", 0) & 0xF))
    sections = [obj.get(k, []) for k in ("answerRRs", "authorityRRs", "additionalRRs")]
    wire = struct.pack("!HHHHHH", obj["ID"], flags, 1 if "QNAME" in obj else 0,
                       *[len(s) for s in sections])
    if "QNAME" in obj:
        wire += _json_name(obj["QNAME"]) + struct.pack("!HH", obj["QTYPE"], obj["QCLASS"])
    for section in sections:
        for r in section:
            rdata = bytes.fromhex(r.get("RDATAHEX", ""))
            wire += _json_name(r["NAME"]) + struct.pack("!HHIH", r["TYPE"], r["CLASS"],
                                                        r["TTL"], len(rdata)) + rdata
    return Message(wire)


# ---------------------------------------------------------------------------------------
# Zones for knotd
# ---------------------------------------------------------------------------------------

TTL_LONG = 3600
TTL_SHORT = 300
SOA_MINIMUM = 300       # negative TTL of example.test / other.test / signed.test
SOA_MINIMUM_NEG = 120   # negative TTL of neg.test (SOA TTL 600 > minimum 120)


def txt_strings(total_bytes, tag):
    """Enough 255-byte strings to make ~total_bytes of TXT rdata, each one distinct."""
    out = []
    n = 0
    i = 0
    while n < total_bytes:
        body = (f"{tag}-{i:03d}-" + "x" * 255)[:255]
        out.append(body)
        n += 256
        i += 1
    return out


TXT_1K = txt_strings(1000, "k1")    # 4 strings  → 1024 bytes of rdata
TXT_2K = txt_strings(2000, "k2")    # 8 strings  → 2048
TXT_4K5 = txt_strings(4500, "k45")  # 18 strings → 4608
TXT_300 = ["small-" + "y" * 249]    # one 255-byte string: a ~330-byte answer
MANY_A = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(90)]


def _txt_rdata_text(strings):
    return " ".join(f'"{s}"' for s in strings)


def _soa(zone, ttl, minimum):
    return (f"@ {ttl} IN SOA ns1.{zone} hostmaster.{zone} 2024010101 3600 600 86400 "
            f"{minimum}\n@ {ttl} IN NS ns1.{zone}\nns1 {ttl} IN A 192.0.2.53\n")


def zone_files():
    """name → zone file text. Every value asserted by the tests is written here."""
    ex = "example.test."
    example = f"$ORIGIN {ex}\n$TTL {TTL_LONG}\n" + _soa(ex, TTL_LONG, SOA_MINIMUM) + "\n".join([
        f"www {TTL_LONG} IN A 192.0.2.1",
        f"www {TTL_LONG} IN AAAA 2001:db8::1",
        f"@ {TTL_LONG} IN MX 10 mail.{ex}",
        f"@ {TTL_LONG} IN MX 20 mail2.{ex}",
        f"mail {TTL_LONG} IN A 192.0.2.25",
        f"mail2 {TTL_LONG} IN A 192.0.2.26",
        f"short {TTL_SHORT} IN A 192.0.2.30",
        f"txt300 {TTL_LONG} IN TXT {_txt_rdata_text(TXT_300)}",
        f"txt1k {TTL_LONG} IN TXT {_txt_rdata_text(TXT_1K)}",
        f"txt2k {TTL_LONG} IN TXT {_txt_rdata_text(TXT_2K)}",
        f"txt45k {TTL_LONG} IN TXT {_txt_rdata_text(TXT_4K5)}",
        *[f"many {TTL_LONG} IN A {a}" for a in MANY_A],
        # CNAME chain inside the zone: c1 → c2 → c3 → www
        f"c1 {TTL_LONG} IN CNAME c2.{ex}",
        f"c2 {TTL_SHORT} IN CNAME c3.{ex}",
        f"c3 {TTL_LONG} IN CNAME www.{ex}",
        # CNAME chain across zones: x1 → x2.other.test → target.other.test
        f"x1 {TTL_LONG} IN CNAME x2.other.test.",
        f"*.wild {TTL_SHORT} IN A 192.0.2.99",
        f"*.wild {TTL_SHORT} IN TXT \"wildcard\"",
        # NODATA: nodata exists (A) but has no AAAA/MX
        f"nodata {TTL_LONG} IN A 192.0.2.77",
    ]) + "\n"
    ot = "other.test."
    other = f"$ORIGIN {ot}\n$TTL {TTL_LONG}\n" + _soa(ot, TTL_LONG, SOA_MINIMUM) + "\n".join([
        f"x2 {TTL_SHORT} IN CNAME target.{ot}",
        f"target {TTL_LONG} IN A 192.0.2.200",
    ]) + "\n"
    ng = "neg.test."
    neg = f"$ORIGIN {ng}\n$TTL 600\n" + _soa(ng, 600, SOA_MINIMUM_NEG) + "\n".join([
        "exists 600 IN A 192.0.2.60",
    ]) + "\n"
    sg = "signed.test."
    signed = f"$ORIGIN {sg}\n$TTL {TTL_LONG}\n" + _soa(sg, TTL_LONG, SOA_MINIMUM) + "\n".join([
        f"www {TTL_LONG} IN A 192.0.2.110",
        f"www {TTL_LONG} IN AAAA 2001:db8::110",
    ]) + "\n"
    return {"example.test": example, "other.test": other, "neg.test": neg,
            "signed.test": signed}


SIGNED_ZONES = ("signed.test",)


# ---------------------------------------------------------------------------------------
# Process helpers
# ---------------------------------------------------------------------------------------

def _stop_pid(proc, sig=signal.SIGTERM, timeout=5.0):
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


class Knot:
    """A real knotd serving `zone_files()` on a random 127.x.y.z address and port."""

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
            self.port = free_port(addrs)
            self.conf = os.path.join(self.dir, "knot.conf")
            with open(self.conf, "w") as f:
                f.write(self._config())
            self.log = open(os.path.join(self.dir, "knotd.log"), "wb")
            self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=self.log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._wait_ready():
                return self
            _stop_pid(self.proc)
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
                m = Message(reply)
                if m.rcode != NOERROR or not m.records("answer", "SOA"):
                    continue
                if z in self.signed and not m.records("answer", "RRSIG"):
                    continue  # signing not done yet
                pending.discard(z)
            if not pending:
                return True
            time.sleep(0.05)
        return False

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "knotd.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            _stop_pid(self.proc)
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

def _yaml_scalar(v):
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

    `upstreams`: list of "addr:port" (or "[::1]:port"). `server`, `upstream`, `cache`: extra
    keys for those sections. The cache is off unless a test passes `cache`: forwarding tests
    compare exact TTLs and count upstream queries (test_cache.py covers the cache). Listens on a random 127.x.y.z and, when `ipv6`, on ::1, both with
    the same random port. `env`: extra environment variables for the daemon (e.g.
    NOTIFY_SOCKET; None removes one); `exec_prefix`: argv run in front of the binary (a
    wrapper that execs it).
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
        self.ipv6 = ipv6 and have_ipv6()
        self.listen = listen
        self.env = dict(env or {})
        self.exec_prefix = list(exec_prefix)
        self.proc = None
        self.dir = None
        self._stats_offset = 0

    # -- lifecycle --------------------------------------------------------------------
    def config_text(self):
        lines = ["server:", f"  listen: {_yaml_list(self.listen_strings())}"]
        for k, v in self.server.items():
            lines.append(f"  {k}: {_yaml_scalar(v)}")
        lines.append(f"upstreams: {_yaml_list(self.upstreams)}")
        if self.upstream_opts:
            lines.append("upstream:")
            for k, v in self.upstream_opts.items():
                lines.append(f"  {k}: {_yaml_scalar(v)}")
        if self.cache_opts:
            lines.append("cache:")
            for k, v in self.cache_opts.items():
                lines.append(f"  {k}: {_yaml_scalar(v)}")
        lines += ["log:", f"  level: {self.log_level}"]
        for k, v in self.log_opts.items():
            lines.append(f"  {k}: {_yaml_scalar(v)}")
        return "\n".join(lines) + "\n"

    def listen_strings(self):
        out = [f"{self.addr}:{self.port}"]
        if self.ipv6:
            out.append(f"[::1]:{self.port}")
        return out

    def start(self, timeout=5.0):
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
            _stop_pid(self.proc, signal.SIGKILL)
            self._stderr.close()
            if self.listen:
                break
        raise RuntimeError(f"sinkholed did not answer within {timeout}s:\n{last}")

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

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stats(self, timeout=5.0):
        """SIGUSR1 → the counters of the `stats {...}` line that follows."""
        assert self.running(), f"sinkholed is not running:\n{self.log_text()[-3000:]}"
        before = os.path.getsize(self.stderr_path)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.stderr_path, "rb") as f:
                f.seek(before)
                new = f.read().decode(errors="replace")
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
        self.proc = None
        self._stderr.close()
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
                _stop_pid(self.proc, signal.SIGKILL)
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
# Fake upstreams
# ---------------------------------------------------------------------------------------

def answer_for(query, ips=("192.0.2.123",), ttl=60, rcode=0, tc=False, id=None,
               question_bytes=None, aa=True):
    """A response to `query` (bytes) with A records `ips`, echoing its question and OPT."""
    q = Message(query)
    qb = q.question_bytes if question_bytes is None else question_bytes
    flags = F_QR | (q.flags & (F_RD | F_CD | 0x7800)) | (F_AA if aa else 0) | (rcode & 0xF)
    if tc:
        flags |= F_TC
    answers = b"" if tc else b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(ip) for ip in ips)
    ar = b""
    if q.opt is not None:
        ar = opt_record(payload=1232, do=q.do)
    return (header(q.id if id is None else id, flags, 1, 0 if tc else len(ips), 0,
                   1 if ar else 0) + qb + answers + ar)


class FakeUpstream:
    """A Python DNS server on a random 127.x.y.z address: UDP (and TCP when `tcp`).

    `handler(query_bytes, transport) → list of (delay_seconds, reply_bytes)`; the default
    answers A 192.0.2.123. Every query is recorded in `seen` as a dict with transport,
    src port, id, qname (as sent), qtype, do bit and time.
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
        try:
            m = Message(data)
            entry = dict(transport=transport, port=src[1], addr=src[0], id=m.id,
                         qname=m.questions[0][0] if m.questions else None,
                         qtype=m.questions[0][1] if m.questions else None,
                         do=m.do, has_opt=m.opt is not None, time=time.monotonic(),
                         wire=data)
        except ParseError:
            entry = dict(transport=transport, port=src[1], addr=src[0], id=None, qname=None,
                         qtype=None, do=False, has_opt=False, time=time.monotonic(), wire=data)
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
    q = Message(query)
    return [(0, answer_for(query, ips=("198.51.100.66",), id=(q.id + 1) & 0xFFFF))]


def wrong_question_handler(query, transport):
    q = Message(query)
    name, qt, qc = q.questions[0]
    wrong = question("spoofed-" + name.split(".", 1)[0] + "." + name.split(".", 1)[1], qt, qc)
    return [(0, answer_for(query, ips=("198.51.100.67",), question_bytes=wrong))]


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


def unused_port_upstream():
    """An address:port where nothing listens (UDP gets ICMP port unreachable)."""
    addr = random_loopback()
    return addr, free_port([addr])


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

    def assertCounters(self, server, before, timeout=3.0, **expected):
        """Polls stats until every named counter moved by exactly the expected amount (a
        counter may be bumped just after the reply left), then asserts it."""
        deadline = time.monotonic() + timeout
        while True:
            after = server.stats()
            missing = [k for k in expected if k not in after]
            self.assertEqual(missing, [], f"counters missing from stats: {sorted(after)}")
            got = {k: after[k] - before.get(k, 0) for k in expected}
            if got == expected or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(got, expected, "counter deltas")
        return after

    def assertCountersAtLeast(self, server, before, timeout=3.0, **expected):
        deadline = time.monotonic() + timeout
        while True:
            after = server.stats()
            missing = [k for k in expected if k not in after]
            self.assertEqual(missing, [], f"counters missing from stats: {sorted(after)}")
            got = {k: after[k] - before.get(k, 0) for k in expected}
            if all(got[k] >= v for k, v in expected.items()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for k, v in expected.items():
            self.assertGreaterEqual(got[k], v, f"counter {k} moved by {got[k]}, want >= {v}")
        return after

    def assertAnswerIs(self, msg, rcode, answers):
        """rcode and the answer section as a sorted list of (name, type, ttl, value)."""
        self.assertEqual(msg.rcode_name, RCODE_NAMES.get(rcode, str(rcode)), repr(msg))
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


def main():
    unittest.main(verbosity=2)
