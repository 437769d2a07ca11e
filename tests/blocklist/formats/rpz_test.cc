// SPDX-License-Identifier: MIT
// read_rpz: triggers, every action, local data merged per trigger, origins ($ORIGIN, SOA
// owner, none), unsupported triggers reported, bad records rejected at their line while the
// rest loads; and the fixture zone.
#include "blocklist/formats/rpz.h"

// Before ldns.h, whose C headers leave `false` a macro that <optional> cannot use.
#include "blocklist/matcher.h"

#include <doctest/doctest.h>
#include <ldns/ldns.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

ParsedList read(std::string_view text) {
  ParsedList out;
  read_rpz(text, out);
  return out;
}

constexpr const char* kHeader =
    "$TTL 300\n@ SOA localhost. root.localhost. 1 43200 3600 86400 300\n  NS localhost.\n";

TEST_CASE("read_rpz: CNAME actions") {
  struct Case {
    const char* record;
    ListAction action;
    RuleKind kind;
  };
  const Case cases[] = {
      {"bad.example CNAME .", ListAction::kNxDomain, RuleKind::kBlock},
      {"bad.example CNAME *.", ListAction::kNoData, RuleKind::kBlock},
      {"bad.example CNAME rpz-passthru.", ListAction::kPassthru, RuleKind::kException},
      {"bad.example CNAME rpz-drop.", ListAction::kDrop, RuleKind::kBlock},
      {"bad.example CNAME rpz-tcp-only.", ListAction::kTcpOnly, RuleKind::kBlock},
      {"bad.example CNAME RPZ-DROP.", ListAction::kDrop, RuleKind::kBlock},
      {"bad.example CNAME bad.example.", ListAction::kPassthru, RuleKind::kException},
      {"bad.example CNAME garden.example.", ListAction::kLocalData, RuleKind::kBlock},
      {"bad.example A 192.0.2.1", ListAction::kLocalData, RuleKind::kBlock},
      {"bad.example AAAA 2001:db8::1", ListAction::kLocalData, RuleKind::kBlock},
  };
  for (const Case& c : cases) {
    CAPTURE(c.record);
    ParsedList l = read(std::string(kHeader) + c.record + "\n");
    CHECK(l.stats.rejects.empty());
    CHECK(l.stats.skipped.empty());
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == "bad.example");
    CHECK(l.domains[0].scope == Scope::kExact);
    CHECK(l.domains[0].action == c.action);
    CHECK(l.domains[0].kind == c.kind);
    CHECK(l.domains[0].line == 4);
    CHECK(l.domains[0].local.size() == (c.action == ListAction::kLocalData ? 1u : 0u));
  }
}

TEST_CASE("read_rpz: name is exact, *.name is below it; mixed case and trailing dots") {
  ParsedList l = read(std::string(kHeader) +
                      "Bad.Example CNAME .\n*.BAD.example CNAME .\n"
                      "bad.example.rpz.sinkhole.invalid. CNAME .\n");
  REQUIRE(l.domains.size() == 2);
  CHECK(l.domains[0].name == "bad.example");
  CHECK(l.domains[0].scope == Scope::kExact);
  CHECK(l.domains[1].name == "bad.example");
  CHECK(l.domains[1].scope == Scope::kSubdomains);
  CHECK(l.stats.duplicates == 1);  // the absolute spelling of line 4
  CHECK(l.stats.rejects.empty());
}

TEST_CASE("read_rpz: local data records of one trigger merge into one entry") {
  ParsedList l = read(std::string(kHeader) +
                      "local.example 60 A 192.0.2.1\n"
                      "local.example A 192.0.2.2\n"
                      "              AAAA 2001:db8::1\n"
                      "local.example A 192.0.2.1\n"
                      "cname.example CNAME Target.Example.\n");
  REQUIRE(l.domains.size() == 2);
  const DomainEntry& e = l.domains[0];
  CHECK(e.action == ListAction::kLocalData);
  REQUIRE(e.local.size() == 3);
  CHECK(e.local[0].type == LDNS_RR_TYPE_A);
  CHECK(e.local[0].ttl == 60);
  CHECK(e.local[0].rdata == std::vector<uint8_t>{192, 0, 2, 1});
  CHECK(e.local[1].ttl == 300);
  CHECK(e.local[1].rdata == std::vector<uint8_t>{192, 0, 2, 2});
  CHECK(e.local[2].type == LDNS_RR_TYPE_AAAA);
  CHECK(e.local[2].rdata.size() == 16);
  CHECK(l.stats.duplicates == 1);  // the repeated 192.0.2.1
  const DomainEntry& c = l.domains[1];
  REQUIRE(c.local.size() == 1);
  CHECK(c.local[0].type == LDNS_RR_TYPE_CNAME);
  // Uncompressed wire name; case as written (the answer builder sends it as is).
  const std::vector<uint8_t> want = {6,   'T', 'a', 'r', 'g', 'e', 't', 7,
                                     'E', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  CHECK(c.local[0].rdata == want);
}

TEST_CASE("read_rpz: unsupported triggers and types are counted, not ignored") {
  ParsedList l = read(std::string(kHeader) +
                      "ns.bad.example.rpz-nsdname CNAME .\n"
                      "32.3.2.0.192.rpz-nsip CNAME .\n"
                      "32.4.2.0.192.rpz-nsip CNAME .\n"
                      "txt.example TXT \"hello\"\n"
                      "mx.example MX 10 mail.example.\n"
                      "@ A 192.0.2.1\n");
  CHECK(l.domains.empty());
  CHECK(l.ip_triggers.empty());
  CHECK(l.stats.rejects.empty());
  const std::map<std::string, size_t> want = {
      {"rpz trigger rpz-nsdname not used by a forwarder", 1},
      {"rpz trigger rpz-nsip not used by a forwarder", 2},
      {"rpz local data type TXT not yet supported", 1},
      {"rpz local data type MX not yet supported", 1},
      {"rpz record at the zone apex", 1},
  };
  CHECK(l.stats.skipped == want);
}

TEST_CASE("read_rpz: rpz-client-ip and rpz-ip triggers, with actions and local data") {
  ParsedList l = read(std::string(kHeader) +
                      "32.1.0.0.127.rpz-client-ip CNAME .\n"           // 4
                      "24.0.2.0.192.rpz-ip CNAME rpz-drop.\n"          // 5
                      "128.1.zz.1.2001.rpz-ip CNAME rpz-passthru.\n"   // 6
                      "48.zz.8.db8.2001.RPZ-Client-IP A 192.0.2.77\n"  // 7
                      "48.zz.8.db8.2001.rpz-client-ip A 192.0.2.78\n"  // 8 merged
                      "24.0.2.0.192.rpz-ip CNAME rpz-drop.\n"          // 9 duplicate
                      "24.0.2.0.192.rpz-client-ip CNAME *.\n"          // 10 other kind
                      "www.example CNAME .\n");
  CHECK(l.stats.rejects.empty());
  CHECK(l.domains.size() == 1);
  CHECK(l.stats.duplicates == 1);
  REQUIRE(l.ip_triggers.size() == 5);
  using Where = IpTriggerEntry::Where;
  const auto& a = l.ip_triggers[0];
  CHECK(a.where == Where::kClient);
  CHECK(a.family == 4);
  CHECK(a.prefix == 32);
  CHECK(a.addr[0] == 127);
  CHECK(a.addr[3] == 1);
  CHECK(a.action == ListAction::kNxDomain);
  CHECK(a.line == 4);
  CHECK(l.ip_triggers[1].where == Where::kAnswer);
  CHECK(l.ip_triggers[1].action == ListAction::kDrop);
  CHECK(l.ip_triggers[2].kind == RuleKind::kException);
  CHECK(l.ip_triggers[2].family == 6);
  const auto& local = l.ip_triggers[3];
  CHECK(local.action == ListAction::kLocalData);
  CHECK(local.local.size() == 2);
  CHECK(local.where == Where::kClient);
  // The same prefix as a client trigger is a trigger of its own.
  CHECK(l.ip_triggers[4].where == Where::kClient);
  CHECK(l.ip_triggers[4].action == ListAction::kNoData);
}

TEST_CASE("read_rpz: a bad IP trigger encoding is a reject at its line") {
  ParsedList l = read(std::string(kHeader) +
                      "33.1.0.0.127.rpz-ip CNAME .\n"     // 4 length > 32
                      "24.1.2.0.192.rpz-ip CNAME .\n"     // 5 host bits
                      "rpz-client-ip CNAME .\n"           // 6 no address
                      "32.1.0.127.rpz-ip CNAME .\n"       // 7 three octets
                      "64.zz.1.zz.2001.rpz-ip CNAME .\n"  // 8 two zz
                      "32.1.0.0.127.rpz-ip CNAME .\n");   // 9 fine
  REQUIRE(l.stats.rejects.size() == 5);
  for (uint32_t i = 0; i < 5; ++i) CHECK(l.stats.rejects[i].line == 4 + i);
  CHECK(l.ip_triggers.size() == 1);
}

TEST_CASE("read_rpz: zone origin from $ORIGIN, from an absolute SOA, or the default") {
  SUBCASE("$ORIGIN before the first record") {
    ParsedList l = read(
        "$ORIGIN rpz.example.\n@ SOA ns. h. 1 2 3 4 5\nbad.example CNAME .\n"
        "abs.example.rpz.example. CNAME .\n");
    REQUIRE(l.domains.size() == 2);
    CHECK(l.domains[0].name == "bad.example");
    CHECK(l.domains[1].name == "abs.example");
    CHECK(l.stats.rejects.empty());
  }
  SUBCASE("absolute SOA owner without $ORIGIN") {
    ParsedList l = read("rpz.example. SOA ns. h. 1 2 3 4 5\nbad.example CNAME .\n");
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == "bad.example");
    CHECK(l.stats.rejects.empty());
  }
  SUBCASE("no $ORIGIN, no SOA: relative names, relative targets are refused") {
    ParsedList l = read("bad.example CNAME .\nlocal.example CNAME garden\n");
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == "bad.example");
    REQUIRE(l.stats.rejects.size() == 1);
    CHECK(l.stats.rejects[0].line == 2);
    CHECK(l.stats.rejects[0].reason.starts_with("relative CNAME target"));
  }
  SUBCASE("a later $ORIGIN moves relative names, not the apex") {
    ParsedList l = read(
        "$ORIGIN rpz.example.\n@ SOA ns. h. 1 2 3 4 5\n"
        "$ORIGIN sub.rpz.example.\nx CNAME .\n");
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == "x.sub");
  }
}

TEST_CASE("read_rpz: bad records are rejected at their line; the rest loads") {
  ParsedList l = read(std::string(kHeader) +
                      "; comment\n"
                      "good1.example CNAME .\n"          // 5
                      "this is not a record\n"           // 6
                      "bad..example CNAME .\n"           // 7
                      "bad%.example CNAME .\n"           // 8
                      "outside.example. CNAME .\n"       // 9
                      "good1.example CNAME rpz-drop.\n"  // 10: contradicts line 5
                      "* CNAME .\n"                      // 11
                      "multi.example SOA a. b. (\n"      // 12
                      "    1 2 3 4 5 )\n"                // 13
                      "good2.example CNAME .\r\n"        // 14
                      "\x01\x02\xff garbage\n"           // 15
                      "good3.example CNAME .");          // 16, no final newline
  std::vector<std::string> names;
  for (const auto& d : l.domains) names.push_back(d.name + "@" + std::to_string(d.line));
  CHECK(names ==
        std::vector<std::string>{"good1.example@5", "good2.example@14", "good3.example@16"});
  std::vector<uint32_t> lines;
  for (const auto& r : l.stats.rejects) lines.push_back(r.line);
  CHECK(lines == std::vector<uint32_t>{6, 7, 8, 9, 10, 11, 15});
  CHECK(l.stats.rejects[4].reason.starts_with("conflicting rpz actions NXDOMAIN and DROP"));
  CHECK(l.stats.rejects[4].reason.find("first at line 5") != std::string::npos);
  CHECK(l.stats.skipped.at("rpz local data type SOA not yet supported") == 1);
  CHECK(l.stats.lines == 16);
}

TEST_CASE("read_rpz: IDN owners in Unicode and punycode are one trigger") {
  ParsedList l = read(std::string(kHeader) +
                      "cá-cược.vn CNAME .\nXN--C-CC-5NA85J946J.VN CNAME .\n*.cá-cược.vn CNAME .\n");
  REQUIRE(l.domains.size() == 2);
  CHECK(l.domains[0].name == "xn--c-cc-5na85j946j.vn");
  CHECK(l.domains[1].name == "xn--c-cc-5na85j946j.vn");
  CHECK(l.domains[1].scope == Scope::kSubdomains);
  CHECK(l.stats.duplicates == 1);
}

TEST_CASE("read_rpz: BOM and CRLF keep line numbers right; empty input is fine") {
  ParsedList l = read("\xEF\xBB\xBF$TTL 300\r\n\r\n; c\r\na.example CNAME .\r\n");
  REQUIRE(l.domains.size() == 1);
  CHECK(l.domains[0].line == 4);
  CHECK(l.stats.lines == 4);
  CHECK(read("").domains.empty());
  CHECK(read("; only a comment").stats.rejects.empty());
}

TEST_CASE("rpz fixture through read_list_file") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/policy.rpz", Format::kRpz);
  CHECK(l.stats.lines == 38);
  struct Want {
    const char* name;
    Scope scope;
    ListAction action;
    uint32_t line;
  };
  const Want want[] = {
      {"nx.example", Scope::kExact, ListAction::kNxDomain, 9},
      {"nx.example", Scope::kSubdomains, ListAction::kNxDomain, 10},
      {"nodata.example", Scope::kExact, ListAction::kNoData, 11},
      {"passthru.example", Scope::kExact, ListAction::kPassthru, 12},
      {"drop.example", Scope::kExact, ListAction::kDrop, 13},
      {"tcp.example", Scope::kExact, ListAction::kTcpOnly, 14},
      {"old-passthru.example", Scope::kExact, ListAction::kPassthru, 15},
      {"garden.example", Scope::kExact, ListAction::kLocalData, 16},
      {"local.example", Scope::kExact, ListAction::kLocalData, 17},
      {"xn--c-cc-5na85j946j.vn", Scope::kExact, ListAction::kNxDomain, 22},
      {"_underscore.example", Scope::kExact, ListAction::kNxDomain, 24},
      {"123.456.example", Scope::kExact, ListAction::kNxDomain, 25},
      {"relative.sub", Scope::kExact, ListAction::kNxDomain, 36},
      {"ttl.local.sub", Scope::kExact, ListAction::kLocalData, 38},
  };
  REQUIRE(l.domains.size() == std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    CAPTURE(i);
    CHECK(l.domains[i].name == want[i].name);
    CHECK(l.domains[i].scope == want[i].scope);
    CHECK(l.domains[i].action == want[i].action);
    CHECK(l.domains[i].line == want[i].line);
  }
  CHECK(l.domains[3].kind == RuleKind::kException);
  CHECK(l.domains[6].kind == RuleKind::kException);
  CHECK(l.domains[8].local.size() == 4);  // lines 17, 18, 19, 21 (20 repeats 17)
  CHECK(l.domains[13].local.at(0).ttl == 60);
  CHECK(l.stats.entries == 13);  // nx.example has two rules
  CHECK(l.stats.rules == 14);
  CHECK(l.stats.duplicates == 2);
  CHECK(l.stats.skipped.size() == 3);  // rpz-nsdname, rpz-nsip, TXT
  REQUIRE(l.ip_triggers.size() == 2);  // lines 26 and 27
  CHECK(l.ip_triggers[0].where == IpTriggerEntry::Where::kAnswer);
  CHECK(l.ip_triggers[0].line == 26);
  CHECK(l.ip_triggers[1].where == IpTriggerEntry::Where::kClient);
  CHECK(l.ip_triggers[1].line == 27);
  std::vector<uint32_t> lines;
  for (const auto& r : l.stats.rejects) lines.push_back(r.line);
  CHECK(lines == std::vector<uint32_t>{31, 32, 33, 34});
}

}  // namespace

namespace {

// A reload's reading of a zone: streamed into a MatcherBuilder, which also answers the
// reader's "seen before?" for the names handed over (DomainSink::find_earlier).
struct Streamed {
  ParsedList parsed;
  MatcherBuilder::DomainCounts counts;
  std::shared_ptr<const Matcher> matcher;
};

class BuilderFeed final : public DomainSink {
 public:
  BuilderFeed(MatcherBuilder& mb, uint16_t list) : mb_(mb), list_(list) {}
  void on_domains(std::span<DomainEntry> entries, uint32_t first) override {
    mb_.add_domains(list_, entries, first);
  }
  bool indexes_all() const override { return mb_.indexed_all(); }
  bool find_earlier(std::string_view name, Earlier& exact, Earlier& below) const override {
    return mb_.find_earlier(list_, name, exact, below);
  }

 private:
  MatcherBuilder& mb_;
  uint16_t list_;
};

Streamed stream(std::string_view text, bool small_chunks) {
  rpz_small_chunks_for_testing(small_chunks);
  MatcherBuilder mb;
  const uint16_t id = mb.begin_list("zone.rpz", Format::kRpz);
  BuilderFeed feed(mb, id);
  Streamed s;
  s.parsed = parse_list(text, Format::kRpz, "zone.rpz", &feed);
  rpz_small_chunks_for_testing(false);
  s.counts = mb.domain_counts(id);
  s.matcher = mb.build().matcher;
  return s;
}

std::vector<std::string> rejects_of(const ParsedList& l) {
  std::vector<std::string> out;
  for (const auto& r : l.stats.rejects) out.push_back(std::to_string(r.line) + " " + r.reason);
  return out;
}

}  // namespace

TEST_CASE("read_rpz streamed: repeats and conflicts far apart are found in the sink's index") {
  // Small chunks: the reader hands entries over every 3 and forgets its own index each
  // time, so a repeat many records later is known only to the builder's table.
  std::string zone = std::string(kHeader) +                                             // lines 1-3
                     "a.example CNAME .\n"                                              // 4
                     "*.a.example CNAME .\n"                                            // 5
                     "p.example CNAME rpz-passthru.\n";                                 // 6
  for (int i = 0; i < 20; ++i) zone += "n" + std::to_string(i) + ".example CNAME .\n";  // 7-26
  zone +=
      "a.example CNAME rpz-drop.\n"      // 27: contradicts line 4
      "*.a.example CNAME .\n"            // 28: repeats line 5
      "p.example CNAME rpz-passthru.\n"  // 29: repeats line 6
      "*.p.example CNAME rpz-drop.\n"    // 30: new scope of a known name
      "*.p.example CNAME *.\n"           // 31: contradicts line 30
      "n3.example CNAME .\n"             // 32: repeats line 10
      "local.example A 192.0.2.1\n"      // 33: local data: held from here on
      "n5.example CNAME .\n"             // 34: repeats line 12
      "local.example A 192.0.2.2\n"      // 35
      "n7.example CNAME rpz-drop.\n";    // 36: contradicts line 14
  const Streamed small = stream(zone, true);
  const Streamed normal = stream(zone, false);
  ParsedList whole = parse_list(zone, Format::kRpz, "zone.rpz");

  const std::vector<std::string> want = {
      "27 conflicting rpz actions NXDOMAIN and DROP (first at line 4): "
      "'a.example CNAME rpz-drop.'",
      "31 conflicting rpz actions DROP and NODATA (first at line 30): '*.p.example CNAME *.'",
      "36 conflicting rpz actions NXDOMAIN and DROP (first at line 14): "
      "'n7.example CNAME rpz-drop.'"};
  CHECK(rejects_of(small.parsed) == want);
  CHECK(rejects_of(normal.parsed) == want);
  CHECK(rejects_of(whole) == want);
  CHECK(small.parsed.stats.duplicates == 4);
  CHECK(normal.parsed.stats.duplicates == 4);
  CHECK(small.counts.names == normal.counts.names);
  CHECK(small.counts.rules == normal.counts.rules);
  CHECK(small.counts.rules == whole.stats.rules);
  CHECK(small.counts.duplicates == 0);
  CHECK(small.parsed.stats.skipped == normal.parsed.stats.skipped);

  // Every rule: the first record's line and action, in both readings.
  for (const char* q : {"a.example", "x.a.example", "p.example", "x.p.example", "n3.example",
                        "n19.example", "local.example"}) {
    CAPTURE(q);
    const auto s = small.matcher->lookup_text(q, nullptr);
    const auto n = normal.matcher->lookup_text(q, nullptr);
    REQUIRE(s.has_value());
    REQUIRE(n.has_value());
    CHECK(s->rule.line == n->rule.line);
    CHECK(s->rule.action == n->rule.action);
    CHECK(s->rule.kind == n->rule.kind);
  }
  CHECK(small.matcher->lookup_text("x.p.example", nullptr)->rule.line == 30);
  CHECK(small.matcher->lookup_text("x.a.example", nullptr)->rule.line == 5);
}
