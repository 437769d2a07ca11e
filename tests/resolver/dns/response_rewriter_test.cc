// SPDX-License-Identifier: MIT
// rewrite_response: an upstream response turned into one client's reply. The client's ID,
// question bytes (0x20 case) and RD/CD/opcode; AA cleared; AD only for DO/AD clients;
// sections and TTLs byte-for-byte; the upstream OPT (and its NSID) replaced by ours only
// for EDNS clients; TC=1 stub above the reply limit; OPT-not-last responses unusable.
#include "resolver/dns/response_rewriter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "test_packet.h"
#include "test_responses.h"

namespace {

using sinkhole::dns::ClientQuery;
using sinkhole::dns::MessageView;
using sinkhole::dns::RewriteResult;
using sinkhole::test::get_u16;
using sinkhole::test::kRespOptOff;
using sinkhole::test::kRespQuestionEnd;
using sinkhole::test::PacketWriter;
using sinkhole::test::ResponseShape;
using sinkhole::test::upstream_response;

constexpr uint16_t kQr = 0x8000, kRd = 0x0100, kRa = 0x0080, kAd = 0x0020, kCd = 0x0010;

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{get_u16(p)} << 16 | get_u16(p + 2);
}

// The client's query: its own ID and 0x20-cased question, parsed like the server does.
struct Client {
  PacketWriter packet;
  ClientQuery cq;
};
Client client(uint16_t flags, bool with_opt, bool do_bit, size_t reply_limit = 1232,
              std::string_view qname = "WwW.eXaMpLe.CoM.") {
  Client c;
  c.packet.header(0x0C1D, flags, 1, 0, 0, with_opt ? 1 : 0).question(qname, 1);
  if (with_opt) c.packet.opt(4096, 0, 0, do_bit);
  const auto q = sinkhole::dns::parse_query(c.packet.data(), c.packet.size());
  REQUIRE(q.ok());
  c.cq = sinkhole::dns::client_query_from(q, c.packet.data(), 1232, reply_limit);
  return c;
}

struct Result {
  sinkhole::dns::Rewritten r;
  std::vector<uint8_t> out;
};
Result rewrite(const Client& c, const PacketWriter& resp) {
  Result res;
  res.out.assign(sinkhole::dns::kMaxMessage, 0xEE);
  const MessageView m = sinkhole::dns::parse_message(resp.data(), resp.size());
  res.r = sinkhole::dns::rewrite_response(c.cq, resp.data(), m, res.out.data());
  return res;
}

std::string bytes(const uint8_t* p, size_t from, size_t to) {
  return std::string(p + from, p + to);
}

}  // namespace

TEST_CASE("rewrite_response gives the client its ID, question bytes and flags") {
  const Client c = client(kRd | kCd, true, false);
  const PacketWriter resp = upstream_response();
  const Result res = rewrite(c, resp);
  REQUIRE(res.r.result == RewriteResult::kOk);
  const uint8_t* out = res.out.data();
  // Header + question + the sections before the upstream OPT + our 11-byte OPT.
  REQUIRE(res.r.size == kRespOptOff + 11);
  CHECK(get_u16(out) == 0x0C1D);
  CHECK(get_u16(out + 2) == (kQr | kRd | kCd | kRa));  // AA and AD of the upstream dropped
  CHECK(get_u16(out + 4) == 1);
  CHECK(get_u16(out + 6) == 2);
  CHECK(get_u16(out + 8) == 0);
  CHECK(get_u16(out + 10) == 2);  // the AAAA glue and our OPT
  CHECK(bytes(out, 12, kRespQuestionEnd) == bytes(c.packet.data(), 12, kRespQuestionEnd));
  // Answers and additional records, TTLs included, byte for byte.
  CHECK(bytes(out, kRespQuestionEnd, kRespOptOff) ==
        bytes(resp.data(), kRespQuestionEnd, kRespOptOff));
  CHECK(get_u32(out + 33 + 6) == 3600);
  CHECK(get_u32(out + 51 + 6) == 0x00012345);
  // Our OPT: root, payload 1232, no extended rcode, version 0, no DO, no options (no NSID).
  const uint8_t* opt = out + kRespOptOff;
  CHECK(opt[0] == 0);
  CHECK(get_u16(opt + 1) == 41);
  CHECK(get_u16(opt + 3) == 1232);
  CHECK(get_u32(opt + 5) == 0);
  CHECK(get_u16(opt + 9) == 0);
  CHECK(std::string(out, out + res.r.size).find("ns1.upstream") == std::string::npos);

  // The reply is a valid message whose compression pointers still resolve.
  const MessageView m = sinkhole::dns::parse_message(out, res.r.size);
  REQUIRE(m.ok);
  CHECK(m.opt_is_last());
  uint8_t target[sinkhole::dns::kMaxNameWire];
  const auto w = sinkhole::dns::walk_name(out, res.r.size, 45, true, target, true);
  REQUIRE(w.error == sinkhole::dns::NameError::kNone);
  CHECK(sinkhole::dns::wire_to_text(target, w.wire_len) == "cdn.example.com.");
}

TEST_CASE("rewrite_response sets AD only for clients that sent DO or AD") {
  struct Case {
    std::string name;
    bool client_do;
    bool client_ad;
    bool upstream_ad;
    bool want_ad;
  } cases[] = {
      {"plain client, upstream AD", false, false, true, false},
      {"DO client, upstream AD", true, false, true, true},
      {"AD client, upstream AD", false, true, true, true},
      {"DO+AD client, upstream without AD", true, true, false, false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Client cl = client(kRd | (c.client_ad ? kAd : 0), true, c.client_do);
    ResponseShape s;
    s.flags = c.upstream_ad ? 0x85A0 : 0x8580;
    const Result res = rewrite(cl, upstream_response(s));
    REQUIRE(res.r.result == RewriteResult::kOk);
    CHECK(bool(get_u16(res.out.data() + 2) & kAd) == c.want_ad);
    // DO is echoed in our OPT.
    CHECK(get_u32(res.out.data() + kRespOptOff + 5) == (c.client_do ? 0x8000u : 0u));
  }
}

TEST_CASE("rewrite_response adds an OPT only when the client sent one") {
  struct Case {
    std::string name;
    bool upstream_opt;
    bool client_opt;
    size_t size;
    uint16_t arcount;
  } cases[] = {
      {"upstream OPT, client without EDNS", true, false, kRespOptOff, 1},
      {"upstream OPT, client with EDNS", true, true, kRespOptOff + 11, 2},
      {"no upstream OPT, client without EDNS", false, false, kRespOptOff, 1},
      {"no upstream OPT, client with EDNS", false, true, kRespOptOff + 11, 2},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ResponseShape s;
    s.with_opt = c.upstream_opt;
    const Result res = rewrite(client(kRd, c.client_opt, false), upstream_response(s));
    REQUIRE(res.r.result == RewriteResult::kOk);
    CHECK(res.r.size == c.size);
    CHECK(get_u16(res.out.data() + 10) == c.arcount);
    const MessageView m = sinkhole::dns::parse_message(res.out.data(), res.r.size);
    REQUIRE(m.ok);
    CHECK(m.has_opt == c.client_opt);
  }
}

TEST_CASE("rewrite_response keeps the upstream rcode, extended ones through our OPT") {
  struct Case {
    std::string name;
    uint16_t header_rcode;
    uint8_t ext;
    bool client_opt;
    uint16_t want_header_rcode;
    uint8_t want_ext;
  } cases[] = {
      {"NXDOMAIN", 3, 0, true, 3, 0},
      {"SERVFAIL, no EDNS client", 2, 0, false, 2, 0},
      {"BADCOOKIE (23) to an EDNS client", 7, 1, true, 7, 1},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ResponseShape s;
    s.flags = 0x8180 | c.header_rcode;
    s.ext_rcode = c.ext;
    const Result res = rewrite(client(kRd, c.client_opt, false), upstream_response(s));
    REQUIRE(res.r.result == RewriteResult::kOk);
    CHECK((get_u16(res.out.data() + 2) & 0xF) == c.want_header_rcode);
    if (c.client_opt) CHECK(res.out[kRespOptOff + 5] == c.want_ext);
  }
}

TEST_CASE("rewrite_response keeps a negative answer's SOA and its TTL") {
  PacketWriter resp;
  resp.header(0x1111, 0x8583, 1, 0, 1, 0).question("nx.example.", 1);
  const size_t soa = resp.size();
  resp.pointer(15).rr_tail(6, 1, 0x00000384,
                           {0xC0, 15, 0xC0, 15,   0, 0,    0,    1,    0, 0, 0x0e, 0x10,
                            0,    0,  0x07, 0x08, 0, 0x09, 0x3a, 0x80, 0, 0, 0x01, 0x2c});
  const Result res = rewrite(client(kRd, false, false, 512, "Nx.ExAmPlE."), resp);
  REQUIRE(res.r.result == RewriteResult::kOk);
  REQUIRE(res.r.size == resp.size());
  CHECK((get_u16(res.out.data() + 2) & 0xF) == 3);
  CHECK(get_u16(res.out.data() + 8) == 1);
  CHECK(bytes(res.out.data(), soa, resp.size()) == bytes(resp.data(), soa, resp.size()));
  CHECK(get_u32(res.out.data() + soa + 6) == 900);
}

TEST_CASE("rewrite_response truncates to the client's limit with a TC=1 stub") {
  // Our sample rewrites to kRespOptOff + 11 = 106 bytes for an EDNS client.
  struct Case {
    std::string name;
    bool client_opt;
    size_t limit;
    bool truncated;
  } cases[] = {
      {"exactly at the limit", true, kRespOptOff + 11, false},
      {"one byte over the limit", true, kRespOptOff + 10, true},
      {"no EDNS, one byte over", false, kRespOptOff - 1, true},
      {"TCP limit", true, 65535, false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Client cl = client(kRd | kCd, c.client_opt, true, c.limit);
    const Result res = rewrite(cl, upstream_response());
    const uint8_t* out = res.out.data();
    if (!c.truncated) {
      CHECK(res.r.result == RewriteResult::kOk);
      CHECK(res.r.size <= c.limit);
      continue;
    }
    REQUIRE(res.r.result == RewriteResult::kTruncated);
    CHECK(res.r.size == kRespQuestionEnd + (c.client_opt ? 11 : 0));
    CHECK(get_u16(out) == 0x0C1D);
    CHECK(get_u16(out + 2) == (kQr | 0x0200 | kRd | kCd | kRa));
    CHECK(get_u16(out + 4) == 1);
    CHECK(get_u16(out + 6) == 0);
    CHECK(get_u16(out + 8) == 0);
    CHECK(get_u16(out + 10) == (c.client_opt ? 1 : 0));
    CHECK(bytes(out, 12, kRespQuestionEnd) == bytes(cl.packet.data(), 12, kRespQuestionEnd));
  }

  SUBCASE("a 90-record answer over UDP without EDNS") {
    PacketWriter big;
    big.header(0x2222, 0x8180, 1, 90, 0, 0).question("many.example.", 1);
    for (int i = 0; i < 90; ++i)
      big.pointer(12).rr_tail(1, 1, 60, {10, 0, 0, static_cast<uint8_t>(i)});
    const Result res = rewrite(client(kRd, false, false, 512, "MaNy.ExAmPlE."), big);
    CHECK(res.r.result == RewriteResult::kTruncated);
    CHECK(res.r.size <= 512);
    CHECK((get_u16(res.out.data() + 2) & 0x0200) != 0);
    const Result tcp = rewrite(client(kRd, false, false, 65535, "MaNy.ExAmPlE."), big);
    CHECK(tcp.r.result == RewriteResult::kOk);
    CHECK(tcp.r.size == big.size());
  }
}

TEST_CASE("rewrite_response refuses responses it cannot rewrite safely") {
  SUBCASE("OPT not last") {
    ResponseShape s;
    s.opt_first = true;
    CHECK(rewrite(client(kRd, true, false), upstream_response(s)).r.result ==
          RewriteResult::kUnusable);
  }
  SUBCASE("malformed response") {
    PacketWriter bad = upstream_response();
    bad.set_u16(6, 3);  // ancount 3: a record that is not there
    CHECK(rewrite(client(kRd, true, false), bad).r.result == RewriteResult::kUnusable);
  }
  SUBCASE("question of another length") {
    CHECK(
        rewrite(client(kRd, true, false, 1232, "www.example.co."), upstream_response()).r.result ==
        RewriteResult::kUnusable);
  }
}
