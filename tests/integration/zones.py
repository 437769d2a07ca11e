# SPDX-License-Identifier: MIT
"""The zones knotd serves to the integration tests. Every value a test asserts on
(addresses, TTLs, SOA minimums, TXT strings) is written here."""

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


def soa_zone_text(origin, records, ttl=3600, minimum=300):
    """A knotd zone for `origin` (no trailing dot) with SOA, NS and `records` (lines
    relative to the origin)."""
    o = origin.rstrip(".") + "."
    return (f"$ORIGIN {o}\n$TTL {ttl}\n"
            f"@ {ttl} IN SOA ns1.{o} hostmaster.{o} 2024010101 3600 600 86400 {minimum}\n"
            f"@ {ttl} IN NS ns1.{o}\nns1 {ttl} IN A 192.0.2.53\n"
            + "\n".join(records) + "\n")


def zone_files():
    """name → zone file text: example.test, other.test, neg.test and signed.test."""
    ex = "example.test."
    example = soa_zone_text(ex, [
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
    ], TTL_LONG, SOA_MINIMUM)
    ot = "other.test."
    other = soa_zone_text(ot, [
        f"x2 {TTL_SHORT} IN CNAME target.{ot}",
        f"target {TTL_LONG} IN A 192.0.2.200",
    ], TTL_LONG, SOA_MINIMUM)
    neg = soa_zone_text("neg.test.", ["exists 600 IN A 192.0.2.60"], 600, SOA_MINIMUM_NEG)
    sg = "signed.test."
    signed = soa_zone_text(sg, [
        f"www {TTL_LONG} IN A 192.0.2.110",
        f"www {TTL_LONG} IN AAAA 2001:db8::110",
    ], TTL_LONG, SOA_MINIMUM)
    return {"example.test": example, "other.test": other, "neg.test": neg,
            "signed.test": signed}


SIGNED_ZONES = ("signed.test",)
