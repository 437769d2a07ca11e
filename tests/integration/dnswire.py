# SPDX-License-Identifier: MIT
"""DNS messages on the wire for the integration tests, built and read with dnspython.

  - `build_query()` → query bytes (dns.message.make_query, EDNS via dns.edns options);
  - `parse()` → a `Reply`: the dnspython message (`.msg`, one RR per RRset so that order,
    duplicates and per-record TTLs stay as received) with the accessors the tests assert
    on (`rcode`, `answer`, `values("A")`, `opt`, `options`, `ede()`, `question_bytes`...);
  - raw UDP and TCP exchanges (TCP with its 2-byte length prefix), also from a chosen
    source address.

Nothing here encodes a message by hand: packets dnspython refuses to build (lying counts,
bad pointers, two OPTs...) are written byte by byte in the tests that send them
(test_malformed.py, test_tcp.py's framing, test_upstream_faults.py's bad response).
"""

import random
import select
import socket
import struct
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.wire

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = (
    dns.rcode.NOERROR, dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NXDOMAIN,
    dns.rcode.NOTIMP, dns.rcode.REFUSED, dns.rcode.BADVERS)
OPCODE_QUERY, OPCODE_IQUERY, OPCODE_STATUS, OPCODE_NOTIFY, OPCODE_UPDATE = (
    dns.opcode.QUERY, dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
    dns.opcode.UPDATE)
OPT_EDE = dns.edns.OptionType.EDE
EDNS_DO = dns.flags.DO

# What a parse error is: every dnspython wire error derives from DNSException.
ParseError = dns.exception.DNSException


def rcode_text(rcode):
    """NOERROR, NXDOMAIN, BADVERS... for an (extended) rcode number."""
    return dns.rcode.to_text(rcode)


# ---------------------------------------------------------------------------------------
# EDE exactly as received
# ---------------------------------------------------------------------------------------

class _ExactEDEOption(dns.edns.EDEOption):
    """dnspython's EDE option that also keeps EXTRA-TEXT as received (`raw_text`).

    dnspython drops a trailing NUL and rejects text that is not UTF-8; an answer with
    either must still fail a test that expects a given text, so `Reply.ede()` decodes
    `raw_text` itself (invalid bytes replaced, a NUL kept)."""

    raw_text = b""

    @classmethod
    def from_wire_parser(cls, otype, parser):
        code = parser.get_uint16()
        raw = parser.get_remaining()
        opt = cls(code, raw.decode("utf-8", "replace") if raw else None)
        opt.raw_text = raw
        return opt


dns.edns.register_type(_ExactEDEOption, OPT_EDE)


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------

def edns_option(code, data):
    """An EDNS option from its code and payload bytes (EDE parsed as such)."""
    return dns.edns.option_from_wire_parser(code, dns.wire.Parser(data))


def query_message(name, qtype="A", qclass="IN", id=None, rd=True, cd=False, ad=False,
                  opcode=OPCODE_QUERY, edns=None, authority=()):
    """A dns.message.Message query. `name` keeps its case. `edns` is None (no OPT), True
    (OPT with defaults) or a dict: payload (1232), version (0), do (False), flags (the
    other EDNS flag bits), ext_rcode (0), options ([(code, bytes)] or dns.edns.Option).
    `authority`: dns.rrset.RRsets (e.g. the SOA of an IXFR query)."""
    flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0) | (
        dns.flags.AD if ad else 0)
    m = dns.message.make_query(dns.name.from_text(name), qtype, qclass, id=id, flags=flags)
    m.set_opcode(opcode)
    if edns is not None and edns is not False:
        e = {} if edns is True else dict(edns)
        ednsflags = ((e.get("ext_rcode", 0) & 0xFF) << 24 | (EDNS_DO if e.get("do") else 0)
                     | e.get("flags", 0))
        options = [o if isinstance(o, dns.edns.Option) else edns_option(*o)
                   for o in e.get("options", ())]
        m.use_edns(e.get("version", 0), ednsflags, e.get("payload", 1232), options=options)
    m.authority.extend(authority)
    return m


def build_query(name, qtype="A", qclass="IN", **kw):
    """query_message(...) in wire form. A random ID unless `id` is given."""
    return query_message(name, qtype, qclass, **kw).to_wire(want_shuffle=False)


def mixed_case(name, rng=random):
    """The same name with random 0x20 case, guaranteed to contain both cases."""
    while True:
        out = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
        letters = [c for c in out if c.isalpha()]
        if any(c.isupper() for c in letters) and any(c.islower() for c in letters):
            return out


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------

class Record:
    """One resource record: `name` (text, case kept), `type`, `type_name`, `rclass`, `ttl`,
    `rdata` (the dnspython Rdata) and `value()`."""

    def __init__(self, rrset, rdata):
        self.name = rrset.name.to_text()
        self.type = int(rrset.rdtype)
        self.rclass = int(rrset.rdclass)
        self.ttl = rrset.ttl
        self.rdata = rdata

    @property
    def type_name(self):
        return dns.rdatatype.to_text(self.type)

    def value(self):
        """The rdata as the tests compare it: A/AAAA text; NS/CNAME/PTR/DNAME target and MX
        (preference, exchange) lower-cased; TXT/HINFO [bytes strings]; SOA a dict; RRSIG
        {type_covered}; any other type its rdata bytes."""
        rd, t = self.rdata, self.type
        if t in (dns.rdatatype.A, dns.rdatatype.AAAA):
            return rd.address
        if t in (dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR,
                 dns.rdatatype.DNAME):
            return rd.target.to_text().lower()
        if t == dns.rdatatype.MX:
            return (rd.preference, rd.exchange.to_text().lower())
        if t == dns.rdatatype.TXT:
            return list(rd.strings)
        if t == dns.rdatatype.HINFO:
            return [rd.cpu, rd.os]
        if t == dns.rdatatype.SOA:
            return dict(mname=rd.mname.to_text().lower(), rname=rd.rname.to_text().lower(),
                        serial=rd.serial, refresh=rd.refresh, retry=rd.retry,
                        expire=rd.expire, minimum=rd.minimum)
        if t == dns.rdatatype.RRSIG:
            return dict(type_covered=dns.rdatatype.to_text(rd.type_covered))
        return rd.to_wire()

    def __repr__(self):
        return f"<{self.name} {self.ttl} {self.rclass} {self.type_name} {self.value()!r}>"


def _records(section):
    return [Record(rrset, rd) for rrset in section for rd in rrset]


class Reply:
    """A DNS message as dnspython read it (`msg`), with the accessors the tests use.

    `wire`: the bytes received (None when the message came from kdig's JSON). `rcode` is
    the full (extended) rcode. `opt` is dnspython's OPT RRset or None (dnspython refuses a
    second OPT, an OPT owned by another name than the root and bytes after the last
    record, so a reply with any of them fails to parse)."""

    def __init__(self, msg, wire=None):
        self.msg = msg
        self.wire = wire
        self.id = msg.id
        self.flags = int(msg.flags)
        self.questions = [(q.name.to_text(), int(q.rdtype), int(q.rdclass))
                          for q in msg.question]
        self.answer = _records(msg.answer)
        self.authority = _records(msg.authority)
        self.additional = _records(msg.additional)
        self.opt = msg.opt
        self.opt_count = 0 if msg.opt is None else 1
        if msg.opt is not None:
            self.ext_rcode = msg.ednsflags >> 24
            self.edns_version = msg.edns
            self.edns_flags = msg.ednsflags & 0xFFFF
            self.udp_size = msg.payload
        else:
            self.ext_rcode = self.edns_version = self.edns_flags = self.udp_size = None
        self.do = bool(msg.ednsflags & EDNS_DO) if msg.opt is not None else False

    # Section counts as in the header (dnspython reads exactly that many records).
    qdcount = property(lambda s: len(s.questions))
    ancount = property(lambda s: len(s.answer))
    nscount = property(lambda s: len(s.authority))
    arcount = property(lambda s: len(s.additional) + s.opt_count
                       + (0 if s.msg.tsig is None else 1))

    qr = property(lambda s: bool(s.flags & dns.flags.QR))
    aa = property(lambda s: bool(s.flags & dns.flags.AA))
    tc = property(lambda s: bool(s.flags & dns.flags.TC))
    rd = property(lambda s: bool(s.flags & dns.flags.RD))
    ra = property(lambda s: bool(s.flags & dns.flags.RA))
    ad = property(lambda s: bool(s.flags & dns.flags.AD))
    cd = property(lambda s: bool(s.flags & dns.flags.CD))
    opcode = property(lambda s: int(s.msg.opcode()))
    rcode = property(lambda s: int(s.msg.rcode()))
    header_rcode = property(lambda s: s.flags & 0xF)
    rcode_name = property(lambda s: rcode_text(s.rcode))

    @property
    def question_bytes(self):
        """The question section exactly as received (case, and any compression, kept)."""
        if self.wire is None:
            raise AssertionError("question_bytes needs the received wire form")
        p = dns.wire.Parser(self.wire, 12)
        for _ in self.questions:
            p.get_name()
            p.get_struct("!HH")
        return self.wire[12:p.current]

    def records(self, section="answer", rtype=None):
        recs = getattr(self, section)
        if rtype is not None:
            code = dns.rdatatype.RdataType.make(rtype)
            recs = [r for r in recs if r.type == code]
        return recs

    def values(self, rtype, section="answer"):
        return [r.value() for r in self.records(section, rtype)]

    @property
    def options(self):
        """[(code, payload bytes)] of the OPT record, in order (EDE text as received)."""
        out = []
        for o in self.msg.options:
            if isinstance(o, _ExactEDEOption):
                out.append((int(o.otype), struct.pack("!H", o.code) + o.raw_text))
            else:
                out.append((int(o.otype), o.to_wire()))
        return out

    def option(self, code):
        return [d for c, d in self.options if c == code]

    def ede(self):
        """[(info-code, EXTRA-TEXT)] of every EDE option (text decoded as received)."""
        return [(int(o.code), o.raw_text.decode("utf-8", "replace"))
                for o in self.msg.options if isinstance(o, _ExactEDEOption)]

    def ede_codes(self):
        return [c for c, _ in self.ede()]

    def __repr__(self):
        size = "?" if self.wire is None else len(self.wire)
        return (f"<Reply id={self.id} {self.rcode_name} flags={self.flags:#06x} "
                f"q={self.questions} an={self.answer} ns={self.authority} "
                f"ar={self.additional} opt={self.opt is not None} ede={self.ede()} "
                f"size={size}>")


def _read(wire):
    try:
        return dns.message.from_wire(wire, one_rr_per_rrset=True)
    except dns.exception.FormError:
        # dnspython reads an UPDATE as zone/prerequisite/update sections and wants a SOA
        # zone; sinkholed echoes an UPDATE query's question in its NOTIMP answer. Read it
        # as an ordinary message and put the opcode back.
        if dns.opcode.from_flags(struct.unpack("!H", wire[2:4])[0]) != dns.opcode.UPDATE:
            raise
        m = dns.message.from_wire(wire[:2] + bytes([wire[2] & 0x87]) + wire[3:],
                                  one_rr_per_rrset=True)
        m.set_opcode(dns.opcode.UPDATE)
        return m


def parse(wire):
    """Reply of a query or answer in wire form (raises ParseError when dnspython cannot
    read it)."""
    return Reply(_read(wire), wire)


# ---------------------------------------------------------------------------------------
# Raw sockets
# ---------------------------------------------------------------------------------------

def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_exchange(addr, port, data, timeout=2.0, src=None):
    """Sends one datagram (from `src` when given, port chosen by the kernel); returns the
    reply bytes or None on timeout."""
    with socket.socket(family_of(addr), socket.SOCK_DGRAM) as s:
        if src is not None:
            s.bind((src, 0))
        s.settimeout(timeout)
        s.sendto(data, (addr, port))
        try:
            while True:
                reply, peer = s.recvfrom(65535)
                if peer[0] == addr and peer[1] == port:
                    return reply
        except (socket.timeout, ConnectionRefusedError):
            return None


def udp_query(addr, port, data, timeout=3.0):
    reply = udp_exchange(addr, port, data, timeout)
    if reply is None:
        raise AssertionError(f"no UDP answer from {addr}@{port} within {timeout}s")
    return parse(reply)


def tcp_connect(addr, port, timeout=3.0, src=None):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if src is not None:
            s.bind((src, 0))
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
    """RFC 1035 4.2.2: the message behind its 2-byte length."""
    return struct.pack("!H", len(data)) + data


def tcp_read_message(s):
    n = struct.unpack("!H", recv_exact(s, 2))[0]
    return recv_exact(s, n)


def tcp_exchange(addr, port, data, timeout=3.0):
    with tcp_connect(addr, port, timeout) as s:
        s.sendall(tcp_frame(data))
        return tcp_read_message(s)


def tcp_query(addr, port, data, timeout=3.0):
    return parse(tcp_exchange(addr, port, data, timeout))


def tcp_from(src, addr, port, data, timeout=3.0):
    """One query over TCP from `src`; reply bytes, or None when the server closes the
    connection or stays silent for `timeout` seconds."""
    with tcp_connect(addr, port, timeout, src=src) as s:
        s.sendall(tcp_frame(data))
        try:
            return tcp_read_message(s)
        except (socket.timeout, EOFError, ConnectionResetError):
            return None


def udp_from(src, addr, port, data, timeout=2.0):
    """Sends one datagram from `src`; reply bytes or None."""
    return udp_exchange(addr, port, data, timeout, src=src)


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
