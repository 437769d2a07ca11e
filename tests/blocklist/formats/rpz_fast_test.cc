// SPDX-License-Identifier: MIT
// The RPZ fast path (blocklist/formats/rpz_fast.h) against ldns: every tricky zone below is
// read twice, fast path on and off, and both readings must agree entry for entry (name,
// scope, kind, action, line, local records with TTL and rdata) and in every count and reject;
// which lines the fast path takes at all; and a zone streamed to a sink gives the entries a
// whole reading gives.
#include "blocklist/formats/rpz_fast.h"

#include <doctest/doctest.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "blocklist/formats/rpz.h"
#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

std::string describe(const DomainEntry& e) {
  std::string s = e.name + "/" + std::to_string(int(e.scope)) + "/" + std::to_string(int(e.kind)) +
                  "/" + std::to_string(int(e.action)) + "@" + std::to_string(e.line);
  for (const auto& l : e.local) {
    s += " [" + std::to_string(l.type) + " ttl " + std::to_string(l.ttl) + ":";
    for (uint8_t b : l.rdata) s += " " + std::to_string(b);
    s += "]";
  }
  return s;
}

std::vector<std::string> entries(const ParsedList& l) {
  std::vector<std::string> out;
  for (const auto& e : l.domains) out.push_back(describe(e));
  return out;
}

std::vector<std::string> rejects(const ParsedList& l) {
  std::vector<std::string> out;
  for (const auto& r : l.stats.rejects) out.push_back(std::to_string(r.line) + ": " + r.reason);
  return out;
}

// Both readings, compared in full; returns the fast one.
ParsedList both(std::string_view text) {
  ParsedList fast, slow;
  read_rpz(text, fast, true);
  read_rpz(text, slow, false);
  CHECK(entries(fast) == entries(slow));
  CHECK(rejects(fast) == rejects(slow));
  CHECK(fast.stats.skipped == slow.stats.skipped);
  CHECK(fast.stats.duplicates == slow.stats.duplicates);
  CHECK(fast.stats.lines == slow.stats.lines);
  return fast;
}

constexpr const char* kHeader =
    "$TTL 300\n@ SOA localhost. root.localhost. 1 43200 3600 86400 300\n  NS localhost.\n";

// Zones that stress where the two readers could part: every record form, directive and
// oddity the fast path must either read as ldns does or hand to ldns.
const char* const kZones[] = {
    // $ORIGIN, relative and absolute owners and targets, a later $ORIGIN.
    "$ORIGIN rpz.example.\n@ SOA ns. h. 1 2 3 4 5\nx CNAME .\nx.rpz.example. CNAME .\n"
    "y CNAME garden\nz CNAME garden.example.\n$ORIGIN sub.rpz.example.\nw CNAME .\n"
    "v CNAME w\nout.example. CNAME .\n",
    // An absolute SOA owner as the origin; relative names after it.
    "rpz.example. SOA ns. h. 1 2 3 4 5\nbad.example CNAME .\nrel CNAME target\n",
    // No origin at all: relative targets refused, absolute ones fine.
    "bad.example CNAME .\nlocal.example CNAME garden\nok.example CNAME garden.example.\n",
    // $TTL changes, $TTL 0 (ldns's default then), explicit TTLs, TTL units (ldns).
    "$TTL 60\na A 192.0.2.1\n$TTL 0\nb A 192.0.2.2\nc 7 A 192.0.2.3\nd 1h A 192.0.2.4\n"
    "e 0 A 192.0.2.5\nf 999999999 A 192.0.2.6\ng 4294967295 A 192.0.2.7\n"
    "h 4294967296 A 192.0.2.8\n$TTL 2d\ni A 192.0.2.9\n",
    // Comments everywhere.
    "; head\na.example CNAME . ; trailing\n;full\n  ; indented\nb.example CNAME .;x\n"
    "c.example CNAME . ; with ( paren\nd.example CNAME . ; with \"quote\n",
    // Parentheses, one line and several.
    "a.example CNAME ( . )\nb.example ( CNAME . )\nc.example CNAME (\n .\n )\n"
    "d.example CNAME .\n",
    // A stray `)` mid-line.
    "a.example CNAME . )\nb.example CNAME .\n",
    // Escapes.
    "a\\.b.example CNAME .\nc\\065.example CNAME .\nd.example CNAME \\046\n"
    "e.example CNAME t\\.x.example.\n",
    // Class IN, other classes, class before TTL.
    "a.example IN CNAME .\nb.example 300 IN CNAME .\nc.example IN 300 CNAME .\n"
    "d.example CH CNAME .\ne.example CLASS1 CNAME .\nf.example in cname .\n",
    // Mixed case everywhere.
    "MiXeD.Example cname .\n*.MIXED.example CnAmE RPZ-PASSTHRU.\nx.EXAMPLE a 192.0.2.9\n"
    "y.example aaaa 2001:DB8::1\nz.example CNAME Target.Example.\nSelf.Example CNAME "
    "self.example.\n",
    // Omitted owners after fast-path records, and @.
    "a.example A 192.0.2.1\n  A 192.0.2.2\n\tAAAA ::1\nb.example CNAME .\n CNAME .\n"
    "@ A 192.0.2.3\n@ CNAME .\n",
    // Lines of blanks alone between records.
    "a.example CNAME .\n   \nb.example CNAME .\n\t\nc.example CNAME .\n \t \n",
    // Addresses ldns refuses, and extra tokens.
    "a.example A 300.1.1.1\nb.example A 1.2.3\nc.example AAAA zz::1\n"
    "d.example A 192.0.2.1 extra\ne.example A 0x7f.1.1.1\nf.example AAAA ::ffff:192.0.2.1\n"
    "g.example CNAME a. b.\nh.example CNAME\n",
    // Labels at and past 63 octets; names near 255.
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example CNAME .\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example CNAME .\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
    "ccccccccccccccccccccccccccccccccccccccccccccccccc.ddddddddddddddddddddddddddddddddddddddddd"
    "dddddddd.eeeeeeeeeeeeeeeeeeeeeeeeeeeee CNAME .\n",
    // Wildcards, odd characters, non-ASCII, digits.
    "a.*.b.example CNAME .\n* CNAME .\n*.* CNAME .\n*.x.example CNAME *.\n_dmarc.example CNAME "
    ".\n"
    "-lead.example CNAME .\nbad%.example CNAME .\ncafé.example CNAME .\n192.0.2.1 CNAME .\n"
    "a..b CNAME .\n.lead CNAME .\n",
    // Actions, duplicates and conflicts across the two paths.
    "a.example CNAME .\na.example CNAME ( rpz-drop. )\nb.example CNAME ( . )\nb.example CNAME .\n"
    "c.example CNAME rpz-tcp-only.\nc.example CNAME rpz-tcp-only.\nd.example CNAME *.\n"
    "d.example CNAME .\n",
    // Local data merged across the two paths; CNAME beside other data.
    "l.example A 192.0.2.1\nl.example ( A 192.0.2.2 )\nl.example A 192.0.2.1\n"
    "l.example CNAME x.example.\nm.example CNAME x.example.\nm.example A 192.0.2.1\n",
    // Unsupported triggers and types, apex records.
    "32.1.2.0.192.rpz-ip CNAME .\nns.x.rpz-nsdname CNAME .\ntxt.example TXT \"hi\"\n"
    "mx.example MX 10 mail.example.\n@ NS ns.example.\n",
    // Tabs as separators, CRLF, BOM, no final newline.
    "\xEF\xBB\xBF"
    "a.example\tCNAME\t.\r\nb.example \t 60\tIN\tA\t192.0.2.1\r\nc.example CNAME .",
    // $INCLUDE, bad $ORIGIN, directives in odd case.
    "$INCLUDE other.zone\n$ORIGIN bad..origin.\na.example CNAME .\n$ttl 60\nb.example A "
    "192.0.2.1\n",
};

TEST_CASE("rpz fast path: agrees with ldns on tricky zones") {
  for (const char* z : kZones) {
    CAPTURE(z);
    both(z);
    both(std::string(kHeader) + z);
  }
}

TEST_CASE("rpz fast path: agrees with ldns on random mixes of those lines") {
  std::vector<std::string> pool;
  for (const char* z : kZones) {
    std::string_view v(z);
    while (!v.empty()) {
      const size_t nl = v.find('\n');
      pool.emplace_back(v.substr(0, nl));
      v = nl == std::string_view::npos ? std::string_view{} : v.substr(nl + 1);
    }
  }
  std::mt19937 rng(14);
  for (int round = 0; round < 3000; ++round) {
    std::string zone = round % 2 ? kHeader : "";
    const int n = 1 + int(rng() % 12);
    for (int k = 0; k < n; ++k) zone += pool[rng() % pool.size()] + (rng() % 9 ? "\n" : "");
    CAPTURE(zone);
    both(zone);
  }
}

TEST_CASE("rpz fast path: which lines it reads itself") {
  SimpleRecord r;
  CHECK(parse_simple_line("bad.example CNAME .", r));
  CHECK(r.owner == "bad.example");
  CHECK(r.type == LDNS_RR_TYPE_CNAME);
  CHECK(r.rdata == ".");
  CHECK_FALSE(r.has_ttl);
  CHECK(parse_simple_line("*.Bad.example 60 in cname rpz-passthru. ; note", r));
  CHECK(r.has_ttl);
  CHECK(r.ttl == 60);
  CHECK(r.rdata == "rpz-passthru.");
  CHECK(parse_simple_line("l.example\tA\t192.0.2.1", r));
  CHECK(r.type == LDNS_RR_TYPE_A);
  CHECK(parse_simple_line("l.example AAAA 2001:db8::1", r));
  CHECK(r.type == LDNS_RR_TYPE_AAAA);
  for (const char* line : {
           "  A 192.0.2.1",         // omitted owner
           "$ORIGIN example.",      // directive
           "a CNAME ( . )",         // parentheses
           "a\\.b CNAME .",         // escape
           "a TXT \"x\"",           // quotes, other type
           "a 1h CNAME .",          // TTL unit
           "a IN 300 CNAME .",      // class before TTL
           "a CH CNAME .",          // other class
           "a CNAME . extra",       // extra token
           "a CNAME",               // no rdata
           "a 1234567890 CNAME .",  // TTL past 9 digits
           "café CNAME .",          // non-ASCII
           "a\fb CNAME .",          // \f ends a line for ldns
           "a MX 10 b.",            // other type
       }) {
    CAPTURE(line);
    CHECK_FALSE(parse_simple_line(line, r));
  }
  uint8_t wire[256];
  size_t len = 0;
  const uint8_t origin[] = {3, 'r', 'p', 'z', 0};
  REQUIRE(plain_name_to_wire("A.b", origin, wire, len));
  CHECK(std::vector<uint8_t>(wire, wire + len) ==
        std::vector<uint8_t>{1, 'A', 1, 'b', 3, 'r', 'p', 'z', 0});
  REQUIRE(plain_name_to_wire("a.", origin, wire, len));
  CHECK(len == 3);
  CHECK_FALSE(plain_name_to_wire(".", origin, wire, len));
  CHECK_FALSE(plain_name_to_wire("a..b", origin, wire, len));
  CHECK_FALSE(plain_name_to_wire("@", origin, wire, len));
  CHECK_FALSE(plain_name_to_wire(std::string(64, 'a'), origin, wire, len));
}

class Collect final : public DomainSink {
 public:
  void on_domains(std::span<DomainEntry> entries, uint32_t first) override {
    CHECK(first == next);
    next += static_cast<uint32_t>(entries.size());
    for (auto& e : entries) got.push_back(describe(e));
  }
  uint32_t next = 0;
  std::vector<std::string> got;
};

TEST_CASE("rpz: a streamed zone hands over what a whole reading keeps") {
  std::string zone = kHeader;
  for (int i = 0; i < 10000; ++i) {
    zone += "n" + std::to_string(i) + ".example CNAME .\n*.n" + std::to_string(i) +
            ".example CNAME .\n";
    if (i % 997 == 0)
      zone += "l" + std::to_string(i) + ".example A 192.0.2.1\nl" + std::to_string(i % 5) +
              ".example A 192.0.2.2\n";
    if (i % 1500 == 0) zone += "n" + std::to_string(i / 2) + ".example CNAME rpz-drop.\n";
  }
  const ParsedList whole = parse_list(zone, Format::kRpz, "zone");
  Collect sink;
  const ParsedList streamed = parse_list(zone, Format::kRpz, "zone", &sink);
  CHECK(streamed.domains.empty());
  std::vector<std::string> want = entries(whole);
  std::vector<std::string> got = sink.got;
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  CHECK(got == want);
  CHECK(rejects(streamed) == rejects(whole));
  CHECK(!whole.stats.rejects.empty());
}

}  // namespace
