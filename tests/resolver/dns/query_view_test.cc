// SPDX-License-Identifier: MIT
// parse_query: a table of valid client queries (fields checked one by one), one case per
// malformed class with its exact ParseOutcome, and truncation / byte-flip loops that must
// never read outside the buffer (run under ASan) nor return kOk with fields past the end.
#include "resolver/dns/query_view.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "resolver/dns/name.h"
#include "test_packet.h"

namespace {

using sinkhole::dns::parse_query;
using sinkhole::dns::ParseOutcome;
using sinkhole::dns::QueryView;
using sinkhole::test::edns_option;
using sinkhole::test::PacketWriter;

constexpr uint16_t kRd = 0x0100;
constexpr uint16_t kCd = 0x0010;

// A name of exactly `wire_len` octets on the wire (root included), built from 63-octet labels
// and one shorter label, in mixed case.
std::string long_name(size_t wire_len) {
  std::string text;
  size_t left = wire_len - 1;  // minus the root label
  char c = 'a';
  while (left > 0) {
    const size_t label = std::min<size_t>(63, left - 1);
    for (size_t i = 0; i < label; ++i) text.push_back(i % 2 ? c : static_cast<char>(c - 32));
    text.push_back('.');
    left -= label + 1;
    ++c;
  }
  return text;
}

// Header with RD and one question; the caller appends records and sets the counts it needs.
PacketWriter query(std::string_view qname, uint16_t qtype, uint16_t an = 0, uint16_t ns = 0,
                   uint16_t ar = 0) {
  PacketWriter p;
  p.header(0xA1B2, kRd, 1, an, ns, ar).question(qname, qtype);
  return p;
}

ParseOutcome outcome_of(const PacketWriter& p) {
  auto copy = sinkhole::test::exact_copy(p.data(), p.size());
  return parse_query(copy.get(), p.size()).outcome;
}

struct ValidCase {
  std::string name;
  PacketWriter packet;
  uint16_t id;
  uint16_t flags;
  size_t qname_len;
  uint16_t qtype;
  uint16_t qclass;
  bool has_opt;
  uint16_t udp_payload;
  bool do_bit;
  size_t opt_rdata_len;
};

std::vector<ValidCase> valid_cases() {
  std::vector<ValidCase> v;
  v.push_back(
      {"plain A query", query("www.example.com.", 1), 0xA1B2, kRd, 17, 1, 1, false, 0, false, 0});
  v.push_back({"with OPT, payload 4096", query("www.example.com.", 28, 0, 0, 1).opt(4096), 0xA1B2,
               kRd, 17, 28, 1, true, 4096, false, 0});
  v.push_back({"with DO bit and CD",
               PacketWriter{}
                   .header(0x0001, kRd | kCd, 1, 0, 0, 1)
                   .question("example.org.", 48)
                   .opt(1232, 0, 0, true),
               0x0001, kRd | kCd, 13, 48, 1, true, 1232, true, 0});
  v.push_back(
      {"mixed-case name", query("wWw.ExAmPlE.CoM.", 1), 0xA1B2, kRd, 17, 1, 1, false, 0, false, 0});
  v.push_back({"root name, NS", query(".", 2), 0xA1B2, kRd, 1, 2, 1, false, 0, false, 0});
  v.push_back(
      {"255-octet name", query(long_name(255), 1), 0xA1B2, kRd, 255, 1, 1, false, 0, false, 0});
  {
    // IXFR: the client's SOA goes in the authority section, its owner compressed.
    PacketWriter p = query("Example.COM.", 251, 0, 1, 0);
    p.pointer(12).rr_tail(6, 1, 3600,
                          {0xC0, 12, 0xC0, 12,   0, 0,    0,    42,   0, 0, 0x0e, 0x10,
                           0,    0,  0x07, 0x08, 0, 0x09, 0x3a, 0x80, 0, 0, 0x0e, 0x10});
    v.push_back({"IXFR with SOA in authority", p, 0xA1B2, kRd, 13, 251, 1, false, 0, false, 0});
  }
  {
    std::vector<uint8_t> opts = edns_option(10, "\x01\x02\x03\x04\x05\x06\x07\x08");
    const std::vector<uint8_t> nsid = edns_option(3, "");
    opts.insert(opts.end(), nsid.begin(), nsid.end());
    v.push_back({"OPT with cookie and NSID options",
                 query("MiXeD.example.", 16, 0, 0, 1).opt(1400, 0, 0, false, opts), 0xA1B2, kRd, 15,
                 16, 1, true, 1400, false, 16});
  }
  v.push_back({"OPT payload below 512 kept as sent", query("a.", 1, 0, 0, 1).opt(100), 0xA1B2, kRd,
               3, 1, 1, true, 100, false, 0});
  {
    PacketWriter p = query("a.b.", 1);
    p.str("trailing garbage");  // bytes after the last record are ignored
    v.push_back({"trailing bytes ignored", p, 0xA1B2, kRd, 5, 1, 1, false, 0, false, 0});
  }
  return v;
}

}  // namespace

TEST_CASE("parse_query accepts valid queries and reads every field") {
  for (const ValidCase& c : valid_cases()) {
    INFO(c.name);
    auto copy = sinkhole::test::exact_copy(c.packet.data(), c.packet.size());
    const uint8_t* msg = copy.get();
    const QueryView q = parse_query(msg, c.packet.size());
    REQUIRE(q.outcome == ParseOutcome::kOk);
    CHECK(q.ok());
    CHECK(q.question_ok);
    CHECK(q.id == c.id);
    CHECK(q.flags == c.flags);
    CHECK(q.opcode() == 0);
    CHECK(q.rd() == bool(c.flags & kRd));
    CHECK(q.cd() == bool(c.flags & kCd));
    CHECK(q.qname_off == 12);
    CHECK(q.qname_len == c.qname_len);
    CHECK(q.question_len() == c.qname_len + 4);
    // The name is the client's bytes, in its case, in place.
    CHECK(std::memcmp(q.qname(msg), c.packet.data() + 12, c.qname_len) == 0);
    CHECK(q.qtype == c.qtype);
    CHECK(q.qclass == c.qclass);
    CHECK(q.has_opt == c.has_opt);
    CHECK(q.udp_payload == c.udp_payload);
    CHECK(q.do_bit == c.do_bit);
    CHECK(q.edns_version == 0);
    if (c.has_opt) {
      CHECK(q.opt_rdata_len == c.opt_rdata_len);
      CHECK(q.opt_rdata_off + q.opt_rdata_len <= c.packet.size());
    }
  }
}

TEST_CASE("parse_query keeps the question bytes of a mixed-case name exactly") {
  const PacketWriter p = query("wWw.ExAmPlE.CoM.", 1);
  const QueryView q = parse_query(p.data(), p.size());
  REQUIRE(q.ok());
  const std::string name(reinterpret_cast<const char*>(q.qname(p.data())), q.qname_len);
  CHECK(name == std::string("\x03wWw\x07"
                            "ExAmPlE\x03"
                            "CoM",
                            16) +
                    std::string(1, '\0'));
}

TEST_CASE("parse_query drops what it cannot answer") {
  SUBCASE("empty and 11-byte packets") {
    CHECK(parse_query(nullptr, 0).outcome == ParseOutcome::kDropShortHeader);
    const PacketWriter p = query("a.", 1);
    for (size_t len = 1; len < 12; ++len) {
      CAPTURE(len);
      auto copy = sinkhole::test::exact_copy(p.data(), len);
      CHECK(parse_query(copy.get(), len).outcome == ParseOutcome::kDropShortHeader);
    }
  }
  SUBCASE("QR=1 is a response, even when otherwise valid or malformed") {
    PacketWriter ok = query("a.", 1);
    ok.set_u16(2, 0x8100);
    CHECK(outcome_of(ok) == ParseOutcome::kDropResponse);
    PacketWriter bad;
    bad.header(1, 0x8000, 0, 0, 0, 0);
    CHECK(outcome_of(bad) == ParseOutcome::kDropResponse);
  }
}

TEST_CASE("parse_query answers other opcodes with NOTIMP, echoing a readable question") {
  struct Case {
    std::string name;
    uint16_t flags;
  } cases[] = {{"IQUERY", 0x0800},
               {"STATUS", 0x1000},
               {"NOTIFY", 0x2000 | kRd},
               {"UPDATE", 0x2800},
               {"opcode 15", 0x7800}};
  for (const auto& c : cases) {
    INFO(c.name);
    PacketWriter p = query("NoTiFy.Example.", 6);
    p.set_u16(2, c.flags);
    const QueryView q = parse_query(p.data(), p.size());
    CHECK(q.outcome == ParseOutcome::kNotImp);
    CHECK(q.opcode() == c.flags >> 11);
    CHECK(q.question_ok);
    CHECK(q.qname_len == 16);
    CHECK(q.qtype == 6);
    CHECK(q.flags == c.flags);
  }
  SUBCASE("unreadable question: still NOTIMP, without a question") {
    PacketWriter none;
    none.header(7, 0x1000, 0, 0, 0, 0);
    QueryView q = parse_query(none.data(), none.size());
    CHECK(q.outcome == ParseOutcome::kNotImp);
    CHECK_FALSE(q.question_ok);
    PacketWriter cut;
    cut.header(7, 0x1000, 1, 0, 0, 0).raw({5, 'a', 'b'});
    q = parse_query(cut.data(), cut.size());
    CHECK(q.outcome == ParseOutcome::kNotImp);
    CHECK_FALSE(q.question_ok);
  }
}

namespace {

struct BadCase {
  std::string name;
  PacketWriter packet;
  ParseOutcome want;
};

// "a." A IN, an OPT whose one option holds `n` pointers (each to the one before, the first
// to the question name), then a TSIG owned by a pointer to the last: n + 1 pointer hops.
PacketWriter pointer_chain(uint16_t n) {
  std::vector<uint8_t> option = {0xFD, 0xE9, static_cast<uint8_t>(2 * n >> 8),
                                 static_cast<uint8_t>(2 * n)};
  for (uint16_t i = 0; i < n; ++i) {
    const uint16_t target = i == 0 ? 12 : static_cast<uint16_t>(34 + 2 * (i - 1));
    option.push_back(static_cast<uint8_t>(0xC0 | target >> 8));
    option.push_back(static_cast<uint8_t>(target));
  }
  PacketWriter p = query("a.", 1, 0, 0, 2).opt(1232, 0, 0, false, option);
  p.pointer(static_cast<uint16_t>(34 + 2 * (n - 1))).rr_tail(250, 255, 0, {});
  return p;
}

std::vector<BadCase> malformed_cases() {
  std::vector<BadCase> v;
  auto add = [&](const char* n, PacketWriter p, ParseOutcome o) { v.push_back({n, p, o}); };
  using O = ParseOutcome;

  add("qdcount 0", PacketWriter{}.header(1, kRd, 0, 0, 0, 0), O::kFormErrQdCount);
  add("qdcount 2", PacketWriter{}.header(1, kRd, 2, 0, 0, 0).question("a.", 1).question("b.", 1),
      O::kFormErrQdCount);

  add("label past end", PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({3, 'w', 'w', 'w', 7, 'e'}),
      O::kFormErrNamePastEnd);
  add("name without root label", PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({1, 'a'}),
      O::kFormErrNamePastEnd);
  add("pointer cut after its first byte",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({1, 'a', 0xC0}), O::kFormErrNamePastEnd);

  // Question "a." A IN ends at offset 19; additional records start there.
  add("pointer to itself in an additional owner",
      query("a.", 1, 0, 0, 1).pointer(19).rr_tail(1, 1, 0, {1, 2, 3, 4}), O::kFormErrPointerLoop);
  add("pointer back to the start of its own name",
      query("a.", 1, 0, 0, 1).raw({1, 'x'}).pointer(19).rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrPointerLoop);
  // Record 1 (root owner at 19) carries rdata C0 22 at offset 30; record 2's owner at 34 is
  // C0 1E: 34 → 30 → 34 → ...
  add("two pointers pointing at each other",
      query("a.", 1, 0, 0, 2)
          .u8(0)
          .rr_tail(41, 1232, 0, {0xC0, 34, 0, 0})  // an OPT whose option code is C0 22
          .pointer(30)
          .rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrPointerLoop);
  add("question pointing back into itself",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({1, 'a', 1, 'b'}).pointer(14).u16(1).u16(1),
      O::kFormErrPointerLoop);

  add("forward pointer in an additional owner",
      query("a.", 1, 0, 0, 1).pointer(31).rr_tail(1, 1, 0, {0, 0, 0, 0}),
      O::kFormErrForwardPointer);
  add("question pointing into the header",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).pointer(4).u16(1).u16(1),
      O::kFormErrForwardPointer);
  add("question with a label, then a pointer into the header",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({3, 'w', 'W', 'w'}).pointer(0).u16(1).u16(1),
      O::kFormErrForwardPointer);
  add("question pointing forward to a name after it",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).pointer(18).u16(1).u16(1).name("a."),
      O::kFormErrForwardPointer);

  add("pointer past end in an additional owner",
      query("a.", 1, 0, 0, 1).pointer(0x3FF).rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrPointerPastEnd);
  add("question pointer past end",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).pointer(200).u16(1).u16(1),
      O::kFormErrPointerPastEnd);
  // 19 + 2 + 10 + 4 = 35 bytes: a pointer to offset 35 is one past the last byte.
  add("pointer to exactly the message length",
      query("a.", 1, 0, 0, 1).pointer(35).rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrPointerPastEnd);

  add("label type 0x40",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({0x41, 'a', 0}).u16(1).u16(1),
      O::kFormErrBadLabelType);
  add("label type 0x80",
      PacketWriter{}.header(1, kRd, 1, 0, 0, 0).raw({1, 'a', 0x80, 0}).u16(1).u16(1),
      O::kFormErrBadLabelType);
  add("label type 0x40 in an additional owner",
      query("a.", 1, 0, 0, 1).raw({0x40, 0}).rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrBadLabelType);

  add("256-octet name", query(long_name(256), 1), O::kFormErrNameTooLong);
  add("255-octet name plus one label", query(long_name(255) + "abc.", 1), O::kFormErrNameTooLong);
  // A 200-octet question name plus a 63-octet label in front of a pointer to it: 264 octets.
  {
    PacketWriter p = query(long_name(200), 1, 0, 0, 1);
    p.u8(63).str(std::string(63, 'x')).pointer(12).rr_tail(1, 1, 0, {1, 2, 3, 4});
    add("name over 255 once decompressed", p, O::kFormErrNameTooLong);
  }

  for (size_t tail = 0; tail < 4; ++tail) {
    PacketWriter p;
    p.header(1, kRd, 1, 0, 0, 0).name("www.example.com.");
    for (size_t i = 0; i < tail; ++i) p.u8(1);
    add(tail == 0   ? "no qtype/qclass"
        : tail == 1 ? "1 byte of qtype"
        : tail == 2 ? "no qclass"
                    : "3 bytes of qtype/qclass",
        p, O::kFormErrShortQuestion);
  }

  add("lying count: record cut in its fixed part",
      query("a.", 1, 0, 0, 1).pointer(12).u16(1).u16(1).u16(0), O::kFormErrRecordPastEnd);
  add("lying count: rdlength past end",
      query("a.", 1, 0, 0, 1).pointer(12).u16(1).u16(1).u32(60).u16(4).raw({1, 2}),
      O::kFormErrRecordPastEnd);

  // Decided from the header: the records are not even read.
  add("an answer record", query("a.", 1, 1, 0, 0).pointer(12).rr_tail(1, 1, 60, {1, 2, 3, 4}),
      O::kFormErrAnCount);
  add("ANCOUNT 65535 and nothing after the question", query("a.", 1, 0xFFFF, 0, 0),
      O::kFormErrAnCount);
  add("an authority record", query("a.", 1, 0, 1, 0).pointer(12).rr_tail(2, 1, 60, {0}),
      O::kFormErrNsCount);
  add("three additional records", query("a.", 1, 0, 0, 3).opt(1232), O::kFormErrArCount);
  add("an A record in the additional section",
      query("a.", 1, 0, 0, 1).pointer(12).rr_tail(1, 1, 0, {1, 2, 3, 4}),
      O::kFormErrAdditionalType);
  add("a TSIG before the OPT",
      query("a.", 1, 0, 0, 2).name("key.").rr_tail(250, 255, 0, {}).opt(1232),
      O::kFormErrAdditionalType);
  add("17 compression pointers in one name", pointer_chain(16), O::kFormErrPointerHops);

  add("OPT rdlength past end",
      query("a.", 1, 0, 0, 1).u8(0).u16(41).u16(1232).u32(0).u16(8).raw({0, 10, 0, 4}),
      O::kFormErrOptPastEnd);
  add("OPT option longer than the rdata",
      query("a.", 1, 0, 0, 1).opt(1232, 0, 0, false, {0, 10, 0, 8, 1, 2, 3, 4}),
      O::kFormErrOptPastEnd);
  add("OPT option header cut", query("a.", 1, 0, 0, 1).opt(1232, 0, 0, false, {0, 10}),
      O::kFormErrOptPastEnd);
  add("OPT second option past the rdata",
      query("a.", 1, 0, 0, 1).opt(1232, 0, 0, false, {0, 3, 0, 0, 0, 10, 0, 1}),
      O::kFormErrOptPastEnd);

  add("two OPT records", query("a.", 1, 0, 0, 2).opt(1232).opt(4096), O::kFormErrTwoOpt);
  add("OPT with a non-root owner", query("a.", 1, 0, 0, 1).name("opt.").rr_tail(41, 1232, 0, {}),
      O::kFormErrOptNotRoot);

  add("EDNS version 1", query("a.", 1, 0, 0, 1).opt(1232, 0, 1), O::kBadVers);
  add("EDNS version 255 with DO", query("a.", 1, 0, 0, 1).opt(4096, 0, 255, true), O::kBadVers);
  return v;
}

}  // namespace

TEST_CASE("parse_query classifies each malformed query") {
  for (const BadCase& c : malformed_cases()) {
    INFO(c.name);
    auto copy = sinkhole::test::exact_copy(c.packet.data(), c.packet.size());
    const QueryView q = parse_query(copy.get(), c.packet.size());
    const std::string got = sinkhole::dns::to_string(q.outcome);
    const std::string want = sinkhole::dns::to_string(c.want);
    CHECK(got == want);
    CHECK_FALSE(q.ok());
    CHECK(q.id == sinkhole::test::get_u16(c.packet.data()));  // the header is always read
  }
}

// Counts that promise records when the packet ends exactly after the previous one are lying
// counts (malformed_record_past_end), not a name running past the end: no name was there.
TEST_CASE("parse_query accepts a last TSIG (unverified) and 16 pointer hops") {
  PacketWriter tsig = query("a.", 1, 0, 0, 2).opt(4096).name("key.").rr_tail(250, 255, 0, {});
  QueryView q = parse_query(tsig.data(), tsig.size());
  CHECK(q.ok());
  CHECK(q.has_opt);
  CHECK(q.udp_payload == 4096);
  const PacketWriter chain = pointer_chain(15);
  q = parse_query(chain.data(), chain.size());
  CHECK(sinkhole::dns::to_string(q.outcome) == std::string("ok"));
}

TEST_CASE("parse_query reports records missing after the question as record_past_end") {
  struct Case {
    std::string name;
    PacketWriter packet;
  } cases[] = {
      {"arcount 1, nothing after the question", query("a.", 1, 0, 0, 1)},
      {"arcount 2, only one OPT", query("a.", 1, 0, 0, 2).opt(1232)},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto copy = sinkhole::test::exact_copy(c.packet.data(), c.packet.size());
    const std::string got =
        sinkhole::dns::to_string(parse_query(copy.get(), c.packet.size()).outcome);
    CHECK(got == "record_past_end");
  }
}

TEST_CASE("parse_query reports BADVERS with the EDNS fields and the question") {
  const PacketWriter p = query("Version.Example.", 1, 0, 0, 1).opt(4096, 0, 1, true);
  const QueryView q = parse_query(p.data(), p.size());
  CHECK(q.outcome == ParseOutcome::kBadVers);
  CHECK(q.question_ok);
  CHECK(q.qname_len == 17);
  CHECK(q.has_opt);
  CHECK(q.edns_version == 1);
  CHECK(q.udp_payload == 4096);
  CHECK(q.do_bit);
}

TEST_CASE("to_string names every ParseOutcome distinctly") {
  std::vector<std::string> names;
  for (int i = 0; i < static_cast<int>(ParseOutcome::kCount); ++i) {
    const std::string s = sinkhole::dns::to_string(static_cast<ParseOutcome>(i));
    CHECK(s != "?");
    for (const auto& n : names) CHECK(n != s);
    names.push_back(s);
  }
}

namespace {

// What must hold for any input: nothing the view points at lies outside the buffer.
bool view_in_bounds(const QueryView& q, const uint8_t* msg, size_t len) {
  if (q.question_ok && q.qname_off + q.question_len() > len) return false;
  if (q.has_opt && q.opt_rdata_off + q.opt_rdata_len > len) return false;
  if (q.ok()) {
    if (!q.question_ok || q.qname_len < 1 || q.qname_len > 255) return false;
    const auto w = sinkhole::dns::walk_name(msg, len, q.qname_off, false);
    if (w.error != sinkhole::dns::NameError::kNone || w.wire_len != q.qname_len) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("parse_query on every truncation of a valid query: never kOk, never out of bounds") {
  for (const ValidCase& c : valid_cases()) {
    if (std::string_view(c.name) == "trailing bytes ignored") continue;
    INFO(c.name);
    size_t bad = 0, ok = 0;
    for (size_t len = 0; len < c.packet.size(); ++len) {
      auto copy = sinkhole::test::exact_copy(c.packet.data(), len);
      const QueryView q = parse_query(copy.get(), len);
      if (!view_in_bounds(q, copy.get(), len)) ++bad;
      if (q.ok()) ++ok;
      if (len < 12 && q.outcome != ParseOutcome::kDropShortHeader) ++bad;
    }
    CHECK(bad == 0);
    CHECK(ok == 0);
  }
}

TEST_CASE("parse_query on random byte flips (fixed seed) stays in bounds") {
  std::mt19937 rng(0x5EED);
  const std::vector<ValidCase> cases = valid_cases();
  size_t bad = 0;
  size_t outcomes[static_cast<size_t>(ParseOutcome::kCount)] = {};
  for (int iter = 0; iter < 20000; ++iter) {
    const ValidCase& c = cases[rng() % cases.size()];
    std::vector<uint8_t> b = c.packet.bytes();
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % b.size();
      // Half the flips hit the pointer/label-type bits, where the interesting bugs live.
      b[at] = (rng() & 1) ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>(b[at] ^ 0xC0);
    }
    const size_t len = (rng() % 4 == 0) ? rng() % (b.size() + 1) : b.size();
    auto copy = sinkhole::test::exact_copy(b.data(), len);
    const QueryView q = parse_query(copy.get(), len);
    if (!view_in_bounds(q, copy.get(), len)) ++bad;
    ++outcomes[static_cast<size_t>(q.outcome)];
  }
  CHECK(bad == 0);
  // The mutations reach both accepted and rejected paths.
  CHECK(outcomes[static_cast<size_t>(ParseOutcome::kOk)] > 0);
  CHECK(outcomes[static_cast<size_t>(ParseOutcome::kFormErrBadLabelType)] > 0);
}
