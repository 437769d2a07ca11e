// SPDX-License-Identifier: MIT
// parse_message over upstream responses: section spans, the OPT record and its extended
// rcode, OPT-not-last detection, malformed responses, and every truncation (under ASan).
#include "resolver/dns/message_view.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_packet.h"
#include "test_responses.h"

namespace {

using sinkhole::dns::MessageView;
using sinkhole::dns::parse_message;
using sinkhole::test::PacketWriter;
using sinkhole::test::ResponseShape;
using sinkhole::test::upstream_response;

MessageView parse(const PacketWriter& p) {
  auto copy = sinkhole::test::exact_copy(p.data(), p.size());
  return parse_message(copy.get(), p.size());
}

}  // namespace

TEST_CASE("parse_message reads header, question, sections and the OPT record") {
  const PacketWriter p = upstream_response();
  REQUIRE(p.size() == sinkhole::test::kRespSize);
  const MessageView m = parse(p);
  REQUIRE(m.ok);
  CHECK(m.id == 0xBEEF);
  CHECK(m.flags == 0x85A0);
  CHECK(m.qdcount == 1);
  CHECK(m.ancount == 2);
  CHECK(m.nscount == 0);
  CHECK(m.arcount == 2);
  CHECK(m.qname_len == 17);
  CHECK(m.qtype == 1);
  CHECK(m.qclass == 1);
  CHECK(m.question_end == sinkhole::test::kRespQuestionEnd);
  CHECK(m.has_opt);
  CHECK(m.opt_off == sinkhole::test::kRespOptOff);
  CHECK(m.opt_end == sinkhole::test::kRespSize);
  CHECK(m.end == sinkhole::test::kRespSize);
  CHECK(m.opt_is_last());
  CHECK(m.rcode() == 0);
  CHECK_FALSE(m.truncated());
}

TEST_CASE("parse_message combines the header rcode with the OPT extended rcode") {
  struct Case {
    std::string name;
    uint16_t header_rcode;
    uint8_t ext;
    bool with_opt;
    uint16_t want;
  } cases[] = {
      {"NXDOMAIN, no EDNS", 3, 0, false, 3},
      {"SERVFAIL with EDNS", 2, 0, true, 2},
      {"BADVERS (16)", 0, 1, true, 16},
      {"BADCOOKIE (23)", 7, 1, true, 23},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ResponseShape s;
    s.flags = 0x8180 | c.header_rcode;
    s.ext_rcode = c.ext;
    s.with_opt = c.with_opt;
    const MessageView m = parse(upstream_response(s));
    REQUIRE(m.ok);
    CHECK(m.ext_rcode == c.ext);
    CHECK(m.rcode() == c.want);
  }
}

TEST_CASE("parse_message flags TC and an OPT that is not last") {
  ResponseShape tc;
  tc.flags = 0x8380;
  CHECK(parse(upstream_response(tc)).truncated());

  ResponseShape first;
  first.opt_first = true;
  const MessageView m = parse(upstream_response(first));
  REQUIRE(m.ok);
  CHECK(m.has_opt);
  CHECK(m.opt_off == 67);
  CHECK_FALSE(m.opt_is_last());

  ResponseShape none;
  none.with_opt = false;
  const MessageView n = parse(upstream_response(none));
  REQUIRE(n.ok);
  CHECK_FALSE(n.has_opt);
  CHECK(n.opt_is_last());
  CHECK(n.end == 95);
}

TEST_CASE("parse_message rejects malformed responses") {
  struct Case {
    std::string name;
    PacketWriter packet;
  };
  std::vector<Case> cases;
  cases.push_back({"11-byte header", PacketWriter{}.raw({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0})});
  cases.push_back({"qdcount 0", PacketWriter{}.header(1, 0x8180, 0, 0, 0, 0)});
  cases.push_back(
      {"qdcount 2",
       PacketWriter{}.header(1, 0x8180, 2, 0, 0, 0).question("a.", 1).question("b.", 1)});
  cases.push_back({"compressed question name",
                   PacketWriter{}.header(1, 0x8180, 1, 0, 0, 0).pointer(4).u16(1).u16(1)});
  cases.push_back(
      {"question without qclass", PacketWriter{}.header(1, 0x8180, 1, 0, 0, 0).name("a.").u16(1)});
  cases.push_back({"ancount larger than the records",
                   PacketWriter{}.header(1, 0x8180, 1, 1, 0, 0).question("a.", 1)});
  cases.push_back({"rdlength past end", PacketWriter{}
                                            .header(1, 0x8180, 1, 1, 0, 0)
                                            .question("a.", 1)
                                            .pointer(12)
                                            .u16(1)
                                            .u16(1)
                                            .u32(1)
                                            .u16(4)
                                            .raw({1, 2, 3})});
  cases.push_back({"pointer loop in an answer owner", PacketWriter{}
                                                          .header(1, 0x8180, 1, 1, 0, 0)
                                                          .question("a.", 1)
                                                          .pointer(19)
                                                          .rr_tail(1, 1, 1, {1, 2, 3, 4})});
  cases.push_back({"label type 0x80 in an answer owner", PacketWriter{}
                                                             .header(1, 0x8180, 1, 1, 0, 0)
                                                             .question("a.", 1)
                                                             .raw({0x80, 0})
                                                             .rr_tail(1, 1, 1, {1, 2, 3, 4})});
  cases.push_back(
      {"two OPT records",
       PacketWriter{}.header(1, 0x8180, 1, 0, 0, 2).question("a.", 1).opt(1232).opt(1232)});
  cases.push_back({"OPT with a non-root owner", PacketWriter{}
                                                    .header(1, 0x8180, 1, 0, 0, 1)
                                                    .question("a.", 1)
                                                    .name("x.")
                                                    .rr_tail(41, 1232, 0, {})});
  // Found by tests/fuzz/fuzz_upstream_response: qtype 0x1400 read as a 20-byte label from a
  // pointer to offset 15 runs from 16 to 35, then reads its next length byte at 36: past
  // the last record (31), in bytes a rewrite drops.
  cases.push_back(
      {"owner name reading the bytes after the last record", PacketWriter{}
                                                                 .header(1, 0x8180, 1, 0, 1, 0)
                                                                 .question("a.", 0x1400)
                                                                 .pointer(15)
                                                                 .rr_tail(1, 1, 1, {})
                                                                 .raw({1, 2, 3, 4, 5, 0})});
  cases.push_back({"owner name reading the OPT record", PacketWriter{}
                                                            .header(1, 0x8180, 1, 0, 1, 1)
                                                            .question("a.", 0x1400)
                                                            .pointer(15)
                                                            .rr_tail(1, 1, 1, {})
                                                            .opt(1232)});
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK_FALSE(parse(c.packet).ok);
  }
}

TEST_CASE("parse_message ignores bytes after the last record that no name reads") {
  PacketWriter p;
  p.header(1, 0x8180, 1, 1, 0, 1)
      .question("a.", 1)
      .pointer(12)
      .rr_tail(1, 1, 1, {1, 2, 3, 4})
      .opt(1232)
      .raw({0xC0, 0x0C, 0xFF});
  const MessageView m = parse(p);
  REQUIRE(m.ok);
  CHECK(m.has_opt);
  CHECK(m.end == p.size() - 3);
}

TEST_CASE("parse_message treats OPT outside the additional section as an ordinary record") {
  PacketWriter p;
  p.header(1, 0x8180, 1, 1, 0, 0).question("a.", 1).opt(1232, 1);
  const MessageView m = parse(p);
  REQUIRE(m.ok);
  CHECK_FALSE(m.has_opt);
  CHECK(m.rcode() == 0);
}

TEST_CASE("parse_message on every truncation of a response: never ok, never out of bounds") {
  for (const bool opt_first : {false, true}) {
    CAPTURE(opt_first);
    ResponseShape s;
    s.opt_first = opt_first;
    const PacketWriter p = upstream_response(s);
    size_t ok = 0;
    for (size_t len = 0; len < p.size(); ++len) {
      auto copy = sinkhole::test::exact_copy(p.data(), len);
      const MessageView m = parse_message(copy.get(), len);
      if (m.ok) ++ok;
    }
    CHECK(ok == 0);
  }
}
