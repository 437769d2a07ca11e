// SPDX-License-Identifier: MIT
// The pure parts of UpstreamPool: check_reply (ID, QR, opcode and question must match, the
// question case-insensitively) and build_upstream_query (RD, CD, OPT with DO and our payload).
// Network behaviour is covered by the integration tests.
#include "resolver/upstream/upstream_pool.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../dns/test_packet.h"
#include "../dns/test_responses.h"
#include "resolver/dns/query_view.h"

namespace {

using sinkhole::test::PacketWriter;
using sinkhole::test::ResponseShape;
using sinkhole::test::upstream_response;
using sinkhole::upstream::InflightTable;
using sinkhole::upstream::PendingQuery;
using sinkhole::upstream::ReplyCheck;

const char* name_of(ReplyCheck c) {
  switch (c) {
    case ReplyCheck::kAccept:
      return "accept";
    case ReplyCheck::kSpoofed:
      return "spoofed";
    case ReplyCheck::kMalformed:
      return "malformed";
  }
  return "?";
}

PendingQuery* pending(InflightTable& t, std::string_view name, uint16_t qtype, bool do_bit,
                      bool cd_bit, uint16_t id) {
  const auto w = sinkhole::test::wire_name(name);
  bool created = false;
  PendingQuery* q = t.find_or_create({w.data(), w.size(), qtype, 1, do_bit, cd_bit}, created);
  q->id = id;
  return q;
}

}  // namespace

TEST_CASE("check_reply accepts only the reply to our question") {
  InflightTable t;
  const PendingQuery& q = *pending(t, "www.example.com.", 1, false, false, 0xBEEF);

  struct Case {
    std::string name;
    PacketWriter resp;
    ReplyCheck want;
  };
  std::vector<Case> cases;
  cases.push_back({"matching reply", upstream_response(), ReplyCheck::kAccept});
  cases.push_back({"mixed-case echo of our question", upstream_response({}, "WwW.eXaMpLe.CoM."),
                   ReplyCheck::kAccept});
  cases.push_back(
      {"TC=1 reply still matches", upstream_response({0xBEEF, 0x8380}), ReplyCheck::kAccept});
  cases.push_back({"wrong ID", upstream_response({0xBEEE}), ReplyCheck::kSpoofed});
  cases.push_back({"QR=0", upstream_response({0xBEEF, 0x0180}), ReplyCheck::kSpoofed});
  cases.push_back({"opcode NOTIFY", upstream_response({0xBEEF, 0xA180}), ReplyCheck::kSpoofed});
  cases.push_back({"other name of the same length", upstream_response({}, "www.example.org."),
                   ReplyCheck::kSpoofed});
  cases.push_back({"other name of another length",
                   PacketWriter{}
                       .header(0xBEEF, 0x8180, 1, 1, 0, 0)
                       .question("ww.example.com.", 1)
                       .pointer(12)
                       .rr_tail(1, 1, 60, {192, 0, 2, 1}),
                   ReplyCheck::kSpoofed});
  {
    PacketWriter p = upstream_response();
    p.set_u16(29, 28);  // qtype AAAA
    cases.push_back({"other qtype", p, ReplyCheck::kSpoofed});
    PacketWriter c = upstream_response();
    c.set_u16(31, 3);  // qclass CH
    cases.push_back({"other qclass", c, ReplyCheck::kSpoofed});
  }
  cases.push_back({"11 bytes", PacketWriter{}.raw({0xBE, 0xEF, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0}),
                   ReplyCheck::kMalformed});
  cases.push_back({"garbage after a matching header",
                   PacketWriter{}.header(0xBEEF, 0x8180, 1, 1, 0, 0).raw({0x80, 0x01, 0x02}),
                   ReplyCheck::kMalformed});
  {
    PacketWriter lying = upstream_response();
    lying.set_u16(6, 9);  // ancount 9
    cases.push_back({"lying counts", lying, ReplyCheck::kMalformed});
  }
  cases.push_back({"no question (qdcount 0)", PacketWriter{}.header(0xBEEF, 0x8181, 0, 0, 0, 0),
                   ReplyCheck::kMalformed});

  for (const auto& c : cases) {
    INFO(c.name);
    auto copy = sinkhole::test::exact_copy(c.resp.data(), c.resp.size());
    sinkhole::dns::MessageView m;
    const std::string got =
        name_of(sinkhole::upstream::check_reply(q, copy.get(), c.resp.size(), m));
    CHECK(got == std::string(name_of(c.want)));
    if (c.want == ReplyCheck::kAccept) {
      CHECK(m.ok);
      CHECK(m.ancount == 2);
    }
  }
}

TEST_CASE("check_reply on every truncation of a reply: never accepted, in bounds") {
  InflightTable t;
  const PendingQuery& q = *pending(t, "www.example.com.", 1, false, false, 0xBEEF);
  const PacketWriter p = upstream_response();
  size_t accepted = 0;
  for (size_t len = 0; len < p.size(); ++len) {
    auto copy = sinkhole::test::exact_copy(p.data(), len);
    sinkhole::dns::MessageView m;
    if (sinkhole::upstream::check_reply(q, copy.get(), len, m) == ReplyCheck::kAccept) ++accepted;
  }
  CHECK(accepted == 0);
}

TEST_CASE("build_upstream_query carries RD, CD when asked, and an OPT with the client's DO") {
  struct Case {
    bool do_bit;
    bool cd_bit;
    uint16_t payload;
  } cases[] = {{false, false, 1232}, {true, false, 1232}, {false, true, 4096}, {true, true, 512}};
  for (const auto& c : cases) {
    INFO("do=" << c.do_bit << " cd=" << c.cd_bit << " payload=" << c.payload);
    InflightTable t;
    const PendingQuery& q = *pending(t, "WwW.Example.COM.", 28, c.do_bit, c.cd_bit, 0);
    std::vector<uint8_t> out(sinkhole::dns::kMaxNameWire + 64, 0xEE);
    const size_t n = sinkhole::upstream::build_upstream_query(q, 0x5A5A, c.payload, out.data());
    REQUIRE(n == 12 + 17 + 4 + 11);
    const uint8_t* p = out.data();
    using sinkhole::test::get_u16;
    CHECK(get_u16(p) == 0x5A5A);
    CHECK(get_u16(p + 2) == (0x0100 | (c.cd_bit ? 0x0010 : 0)));
    CHECK(get_u16(p + 4) == 1);
    CHECK(get_u16(p + 6) == 0);
    CHECK(get_u16(p + 8) == 0);
    CHECK(get_u16(p + 10) == 1);
    const auto name = sinkhole::test::wire_name("www.example.com.");
    CHECK(std::string(p + 12, p + 29) == std::string(name.begin(), name.end()));
    CHECK(get_u16(p + 29) == 28);
    CHECK(get_u16(p + 31) == 1);

    // Parsed the way any server would read it.
    const auto v = sinkhole::dns::parse_query(p, n);
    REQUIRE(v.ok());
    CHECK(v.has_opt);
    CHECK(v.edns_version == 0);
    CHECK(v.udp_payload == c.payload);
    CHECK(v.do_bit == c.do_bit);
    CHECK(v.cd() == c.cd_bit);
    CHECK(v.rd());
    CHECK(v.opt_rdata_len == 0);

    // The same bytes with QR set are an acceptable reply to this question.
    std::vector<uint8_t> reply(out.begin(), out.begin() + n);
    reply[2] |= 0x80;
    const PendingQuery& again = *pending(t, "www.example.com.", 28, c.do_bit, c.cd_bit, 0x5A5A);
    sinkhole::dns::MessageView m;
    CHECK(sinkhole::upstream::check_reply(again, reply.data(), reply.size(), m) ==
          ReplyCheck::kAccept);
  }
}
