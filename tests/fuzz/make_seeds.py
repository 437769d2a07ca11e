#!/usr/bin/python3
# Writes the generated seeds of tests/fuzz/corpus/ (DNS messages from dnspython, control
# request lines, /explain query strings). Lists and configurations are copied by hand from
# tests/blocklist/fixtures and deploy/examples. Run from anywhere: /usr/bin/python3
# tests/fuzz/make_seeds.py (Debian's python3-dnspython).
import os
import struct

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rrset

base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def w(target, name, data):
    d = os.path.join(base, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def query_seeds():
    t = "fuzz_query_parser"
    q = dns.message.make_query("www.example.com", "A")
    q.id = 0x1234
    w(t, "a_plain.bin", q.to_wire())
    w(t, "aaaa_edns_do.bin", dns.message.make_query(
        "WwW.ExAmple.COM", "AAAA", use_edns=0, want_dnssec=True, payload=1232).to_wire())
    w(t, "any_edns.bin", dns.message.make_query("casino.example", "ANY", use_edns=0).to_wire())
    w(t, "chaos_txt.bin", dns.message.make_query("version.bind", "TXT", "CH").to_wire())
    w(t, "mx_cookie.bin", dns.message.make_query(
        "example.org", "MX", use_edns=0,
        options=[dns.edns.GenericOption(10, b"\x01\x02\x03\x04\x05\x06\x07\x08")]).to_wire())
    w(t, "badvers.bin", dns.message.make_query("example.net", "A", use_edns=1).to_wire())
    q = dns.message.make_query("example.net", "A")
    q.set_opcode(dns.opcode.NOTIFY)
    w(t, "notify.bin", q.to_wire())
    w(t, "axfr.bin", dns.message.make_query("example.net", "AXFR").to_wire())
    hdr = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    w(t, "pointer_loop.bin", hdr + b"\xc0\x0c\x00\x01\x00\x01")
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    question = b"\x07example\x00\x00\x01\x00\x01"
    w(t, "two_opt.bin", struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 2) + question + opt + opt)
    w(t, "short_question.bin", hdr + b"\x07example\x00\x00")
    w(t, "answer_in_query.bin", struct.pack(">HHHHHH", 9, 0x0100, 1, 1, 0, 0) + question +
      b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01")


def resp(qname, qtype, answers=(), authority=(), rcode=0, edns=True, tc=False, do=False):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else None, want_dnssec=do)
    r = dns.message.make_response(q)
    for a in answers:
        r.answer.append(dns.rrset.from_text(a[0] + ".", *a[1:]))
    for a in authority:
        r.authority.append(dns.rrset.from_text(a[0] + ".", *a[1:]))
    r.set_rcode(rcode)
    if tc:
        r.flags |= dns.flags.TC
    return r.to_wire()


def response_seeds():
    t = "fuzz_upstream_response"
    soa = "ns.example. host.example. 1 7200 900 1209600 300"
    w(t, "a.bin", resp("www.example.com", "A",
                       [("www.example.com", 300, "IN", "A", "192.0.2.1", "192.0.2.2")]))
    w(t, "aaaa_noedns.bin", resp("www.example.com", "AAAA",
                                 [("www.example.com", 300, "IN", "AAAA", "2001:db8::1")],
                                 edns=False))
    w(t, "cname_chain.bin", resp("www.shop.example", "A", [
        ("www.shop.example", 60, "IN", "CNAME", "cdn.shop.example."),
        ("cdn.shop.example", 60, "IN", "CNAME", "edge.cdn.example."),
        ("edge.cdn.example", 60, "IN", "A", "198.51.100.7")]))
    w(t, "cname_dangling.bin", resp("www.internal.example", "A", [
        ("www.internal.example", 60, "IN", "CNAME", "host.other.example.")]))
    w(t, "dname.bin", resp("a.b.old.example", "A", [
        ("old.example", 60, "IN", "DNAME", "new.example."),
        ("a.b.old.example", 60, "IN", "CNAME", "a.b.new.example."),
        ("a.b.new.example", 60, "IN", "A", "192.0.2.9")]))
    w(t, "nxdomain_soa.bin", resp("nope.example", "A", [],
                                  [("example", 3600, "IN", "SOA", soa)], rcode=3))
    w(t, "nodata_soa.bin", resp("www.example", "MX", [], [("example", 3600, "IN", "SOA", soa)]))
    w(t, "servfail.bin", resp("broken.example", "A", [], rcode=2))
    w(t, "tc.bin", resp("big.example", "TXT", [], tc=True))
    w(t, "mx_ns.bin", resp("example.org", "MX", [
        ("example.org", 300, "IN", "MX", "10 mail.example.org.", "20 mail2.example.org.")],
        [("example.org", 300, "IN", "NS", "ns1.example.org.")]))
    w(t, "big_txt.bin", resp("big.example", "TXT", [
        ("big.example", 300, "IN", "TXT", *['"%s"' % ("x" * 200) for _ in range(10)])]))
    w(t, "rrsig_do.bin", resp("signed.example", "A", [
        ("signed.example", 300, "IN", "A", "192.0.2.3"),
        ("signed.example", 300, "IN", "RRSIG",
         "A 13 2 300 20300101000000 20200101000000 12345 signed.example. AAAA")], do=True))


def control_seeds():
    lines = [
        '{"command":"status","args":{},"json":false}',
        '{"command":"status","args":{},"json":true}',
        '{"command":"stats","args":{},"json":true}',
        '{"command":"lists","args":{},"json":false}',
        '{"command":"explain","args":{"name":"www.casino.example","client":"192.0.2.1"},'
        '"json":false}',
        '{"command":"explain","args":{"name":"xn--bcher-kva.example","client":"2001:db8::1"},'
        '"json":true}',
        '{"command":"explain","args":{"name":"bad..name"},"json":false}',
        '{"command":"explain","args":{"name":"casino.example","client":"not-an-ip"}}',
        '{"command":"cache flush","args":{},"json":false}',
        '{"command":"cache flush","args":{"name":"example.com"},"json":true}',
        '{"command":"reload","args":{},"json":false}',
        '{"command":"nope","args":{}}',
        '{"command":"explain","args":{"name":1}}',
        '{"ok":true,"text":"sinkholed 0.1.0\\n"}',
        '{"ok":false,"error":"unknown command","text":"error: unknown command"}',
        '{"command":"policies","args":{},"json":true}',
    ]
    for i, line in enumerate(lines):
        w("fuzz_control_request", "req%02d.json" % i, line + "\n")


def explain_seeds():
    queries = [
        "name=casino.example", "name=www.casino.example&client=192.0.2.1",
        "name=ads.example&client=2001%3adb8%3a%3a1", "name=bet123.example&client=198.51.100.9",
        "name=%E2%98%83.example", "name=foo&name=bar", "name=x&client=1.2.3.4&client=5.6.7.8",
        "name=casino.example&client=bad", "name", "client=192.0.2.1", "name=a+b.example",
        "name=%00x",
    ]
    for i, q in enumerate(queries):
        w("fuzz_explain_query", "q%02d.txt" % i, q)


def proxy_seeds():
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(base), "..", "integration"))
    import proxy_v2
    t = "fuzz_proxy_header"
    q = dns.message.make_query("example.com", "A")
    q.id = 0x1234
    w(t, "v4_udp.bin", proxy_v2.header(("192.0.2.7", 5300)) + q.to_wire())
    w(t, "v6_tcp.bin", proxy_v2.header(("2001:db8::42", 40000), ("2001:db8::1", 53), tcp=True))
    w(t, "local.bin", proxy_v2.local())
    w(t, "tlvs.bin", proxy_v2.header(("10.0.0.1", 1), tlvs=proxy_v2.tlv(4, b"pad") +
                                     proxy_v2.tlv(2, b"example.com")))
    w(t, "unix.bin", proxy_v2.raw(proxy_v2.PROXY, proxy_v2.UNIX, proxy_v2.STREAM, b"x" * 216))
    w(t, "plain_dns.bin", q.to_wire())


query_seeds()
proxy_seeds()
response_seeds()
control_seeds()
explain_seeds()
