# SPDX-License-Identifier: MIT
"""PROXY protocol version 2 headers (HAProxy's spec, section 2.2), as a load balancer such
as dnsdist (`useProxyProtocol=true`) puts them before each UDP datagram and at the start of
each TCP connection. For the tests that play the proxy (test_proxy_protocol.py, the fleet
test): `header(client, dest)` for a PROXY command, `local()` for a health check's LOCAL."""
import ipaddress
import socket
import struct

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
LOCAL, PROXY = 0x0, 0x1
UNSPEC, INET, INET6, UNIX = 0x0, 0x1, 0x2, 0x3
STREAM, DGRAM = 0x1, 0x2


def raw(command, family, transport, payload, version=2):
    """A header from its parts, unchecked (the malformed cases build theirs with this)."""
    return (SIGNATURE + bytes([(version << 4) | command, (family << 4) | transport]) +
            struct.pack("!H", len(payload)) + payload)


def header(client, dest=("127.0.0.1", 53), tcp=False, tlvs=b""):
    """A PROXY command for `client` (host, port) talking to `dest` (host, port); both of
    one family, IPv4 or IPv6 (an IPv4 `dest` is mapped when the client is IPv6)."""
    src = ipaddress.ip_address(client[0])
    dst = ipaddress.ip_address(dest[0])
    if src.version == 6 and dst.version == 4:
        dst = ipaddress.IPv6Address("::ffff:" + str(dst))
    if src.version != dst.version:
        raise ValueError("an IPv4 client needs an IPv4 destination")
    family = INET if src.version == 4 else INET6
    payload = src.packed + dst.packed + struct.pack("!HH", client[1], dest[1]) + tlvs
    return raw(PROXY, family, STREAM if tcp else DGRAM, payload)


def local(tcp=False):
    """A LOCAL command (no addresses): what a proxy's own health checks may carry."""
    return raw(LOCAL, UNSPEC, STREAM if tcp else DGRAM, b"")


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def parse(data):
    """(command, client (host, port) or None, header length) of a header at the start of
    `data` (for a test that checks what a real proxy sent); raises ValueError."""
    if data[:12] != SIGNATURE or len(data) < 16:
        raise ValueError("no PROXY v2 header")
    ver_cmd, fam, length = data[12], data[13], struct.unpack("!H", data[14:16])[0]
    if ver_cmd >> 4 != 2 or len(data) < 16 + length:
        raise ValueError("bad PROXY v2 header")
    body = data[16:16 + length]
    client = None
    if ver_cmd & 0xF == PROXY and fam >> 4 == INET:
        client = (socket.inet_ntop(socket.AF_INET, body[0:4]), struct.unpack("!H", body[8:10])[0])
    elif ver_cmd & 0xF == PROXY and fam >> 4 == INET6:
        client = (socket.inet_ntop(socket.AF_INET6, body[0:16]),
                  struct.unpack("!H", body[32:34])[0])
    return ver_cmd & 0xF, client, 16 + length
