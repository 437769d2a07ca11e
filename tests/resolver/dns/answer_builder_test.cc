// SPDX-License-Identifier: MIT
// The replies sinkholed writes itself: the UDP size limit, rcode replies (ID, question bytes,
// RD/CD/opcode echoed, QR+RA, OPT only for EDNS clients, BADVERS, EDE), TC=1 stubs, CHAOS
// TXT and the RFC 8482 HINFO. Each reply is also re-parsed to prove it is a valid message.
#include "resolver/dns/answer_builder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "resolver/dns/message_view.h"
#include "test_packet.h"

namespace {

using sinkhole::dns::ClientQuery;
using sinkhole::dns::QueryView;
using sinkhole::test::get_u16;
using sinkhole::test::PacketWriter;

constexpr uint16_t kQr = 0x8000, kAa = 0x0400, kTc = 0x0200, kRd = 0x0100, kRa = 0x0080,
                   kAd = 0x0020, kCd = 0x0010;

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{get_u16(p)} << 16 | get_u16(p + 2);
}

// A parsed client query that keeps its packet alive.
struct Client {
  PacketWriter packet;
  QueryView view;
  ClientQuery cq;
};

Client client(uint16_t id, uint16_t flags, std::string_view qname, uint16_t qtype, uint16_t qclass,
              bool with_opt, bool do_bit = false) {
  Client c;
  c.packet.header(id, flags, 1, 0, 0, with_opt ? 1 : 0).question(qname, qtype, qclass);
  // The client's own options (a cookie) must never come back.
  if (with_opt) c.packet.opt(4096, 0, 0, do_bit, sinkhole::test::edns_option(10, "12345678"));
  c.view = sinkhole::dns::parse_query(c.packet.data(), c.packet.size());
  c.cq = sinkhole::dns::client_query_from(c.view, c.packet.data(), 1232, 1232);
  return c;
}

struct Counts {
  uint16_t qd, an, ns, ar;
};
Counts counts(const uint8_t* out) {
  return {get_u16(out + 4), get_u16(out + 6), get_u16(out + 8), get_u16(out + 10)};
}

}  // namespace

TEST_CASE("udp_reply_limit follows RFC 6891 6.2.5") {
  struct Case {
    std::string name;
    bool has_opt;
    uint16_t client_payload;
    uint16_t ours;
    size_t want;
  } cases[] = {
      {"no EDNS", false, 0, 1232, 512},
      {"no EDNS ignores a stale payload", false, 4096, 1232, 512},
      {"client 4096, ours 1232", true, 4096, 1232, 1232},
      {"client 100 counts as 512", true, 100, 1232, 512},
      {"client 0 counts as 512", true, 0, 1232, 512},
      {"client 800", true, 800, 1232, 800},
      {"client 1232, ours 4096", true, 1232, 4096, 1232},
      {"client 65535, ours 4096", true, 65535, 4096, 4096},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    QueryView q;
    q.outcome = sinkhole::dns::ParseOutcome::kOk;
    q.has_opt = c.has_opt;
    q.udp_payload = c.client_payload;
    CHECK(sinkhole::dns::udp_reply_limit(q, c.ours) == c.want);
  }
}

TEST_CASE("client_query_from copies what a reply must echo") {
  const Client c = client(0xBEEF, kRd | kCd, "wWw.ExAmPlE.CoM.", 1, 1, true, true);
  REQUIRE(c.view.ok());
  CHECK(c.cq.id == 0xBEEF);
  CHECK(c.cq.flags == (kRd | kCd));
  CHECK(c.cq.question == c.packet.data() + 12);
  CHECK(c.cq.question_len == 21);
  CHECK(c.cq.has_opt);
  CHECK(c.cq.do_bit);
  CHECK(c.cq.our_payload == 1232);
}

TEST_CASE("build_rcode_reply echoes the query and sets QR and RA") {
  struct Case {
    std::string name;
    uint16_t client_flags;
    bool with_opt;
    bool do_bit;
    uint16_t rcode;
    uint16_t want_flags;
  } cases[] = {
      {"SERVFAIL, RD, EDNS with DO", kRd, true, true, 2, kQr | kRd | kRa | 2},
      {"REFUSED, RD+CD, no EDNS", kRd | kCd, false, false, 5, kQr | kRd | kCd | kRa | 5},
      {"FORMERR, no RD", 0, true, false, 1, kQr | kRa | 1},
      {"NOTIMP echoes opcode STATUS", 0x1000 | kRd, false, false, 4, kQr | 0x1000 | kRd | kRa | 4},
      {"client AA/TC/AD/RA bits are not echoed", kAa | kTc | kAd | kRa | kRd, true, false, 3,
       kQr | kRd | kRa | 3},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Client cl =
        client(0x4A5B, c.client_flags, "MiXeD.CaSe.Example.", 1, 1, c.with_opt, c.do_bit);
    REQUIRE(cl.view.question_ok);
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    const size_t n = sinkhole::dns::build_rcode_reply(cl.cq, c.rcode, out.data());
    const size_t qlen = cl.cq.question_len;
    REQUIRE(n == 12 + qlen + (c.with_opt ? 11 : 0));
    CHECK(get_u16(out.data()) == 0x4A5B);
    CHECK(get_u16(out.data() + 2) == c.want_flags);
    const Counts k = counts(out.data());
    CHECK(k.qd == 1);
    CHECK(k.an == 0);
    CHECK(k.ns == 0);
    CHECK(k.ar == (c.with_opt ? 1 : 0));
    CHECK(std::string(out.begin() + 12, out.begin() + 12 + qlen) ==
          std::string(cl.packet.data() + 12, cl.packet.data() + 12 + qlen));
    if (c.with_opt) {
      const uint8_t* opt = out.data() + 12 + qlen;
      CHECK(opt[0] == 0);
      CHECK(get_u16(opt + 1) == 41);
      CHECK(get_u16(opt + 3) == 1232);                       // our payload, not the client's 4096
      CHECK(get_u32(opt + 5) == (c.do_bit ? 0x8000u : 0u));  // ext 0, version 0, DO echoed
      CHECK(get_u16(opt + 9) == 0);                          // the client's cookie is not echoed
    }
    const auto m = sinkhole::dns::parse_message(out.data(), n);
    CHECK(m.ok);
    CHECK(m.rcode() == c.rcode);
  }
}

TEST_CASE("build_rcode_reply carries BADVERS in the OPT extended rcode, version 0") {
  Client cl;
  cl.packet.header(9, kRd, 1, 0, 0, 1).question("Example.", 1).opt(4096, 0, 1, true);
  cl.view = sinkhole::dns::parse_query(cl.packet.data(), cl.packet.size());
  REQUIRE(cl.view.outcome == sinkhole::dns::ParseOutcome::kBadVers);
  cl.cq = sinkhole::dns::client_query_from(cl.view, cl.packet.data(), 1232, 1232);
  std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
  const size_t n = sinkhole::dns::build_rcode_reply(cl.cq, 16, out.data());
  REQUIRE(n == 12 + 13 + 11);
  CHECK((get_u16(out.data() + 2) & 0x000F) == 0);  // BADVERS = 16: low four bits are 0
  CHECK(counts(out.data()).an == 0);
  const uint8_t* opt = out.data() + 25;
  CHECK(opt[5] == 1);  // extended rcode: 16 >> 4
  CHECK(opt[6] == 0);  // our version, not the client's 1
  CHECK(get_u16(opt + 7) == 0x8000);
  const auto m = sinkhole::dns::parse_message(out.data(), n);
  REQUIRE(m.ok);
  CHECK(m.rcode() == 16);
}

TEST_CASE("build_rcode_reply adds an Extended DNS Error option when given") {
  struct Case {
    std::string name;
    uint16_t code;
    std::string text;
  } cases[] = {
      {"Prohibited with text", sinkhole::dns::ede::kProhibited, "zone transfer refused"},
      {"No Reachable Authority, no text", sinkhole::dns::ede::kNoReachableAuthority, ""},
      {"Blocked", sinkhole::dns::ede::kBlocked, "Blocked by list Ads"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const Client cl = client(1, kRd, "Ads.Example.", 1, 1, true);
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    const size_t n = sinkhole::dns::build_rcode_reply(cl.cq, 5, out.data(), {c.code, c.text});
    const uint8_t* opt = out.data() + 12 + cl.cq.question_len;
    REQUIRE(n == 12 + cl.cq.question_len + 11 + 6 + c.text.size());
    CHECK(get_u16(opt + 9) == 6 + c.text.size());   // OPT rdlength
    CHECK(get_u16(opt + 11) == 15);                 // option code EDE (RFC 8914)
    CHECK(get_u16(opt + 13) == 2 + c.text.size());  // option length
    CHECK(get_u16(opt + 15) == c.code);             // INFO-CODE
    CHECK(std::string(opt + 17, opt + 17 + c.text.size()) == c.text);
    CHECK(sinkhole::dns::parse_message(out.data(), n).ok);
  }
  SUBCASE("no OPT from the client: no EDE either") {
    const Client cl = client(1, kRd, "Ads.Example.", 1, 1, false);
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    const size_t n = sinkhole::dns::build_rcode_reply(cl.cq, 5, out.data(), {18, "x"});
    CHECK(n == 12 + cl.cq.question_len);
    CHECK(counts(out.data()).ar == 0);
  }
}

TEST_CASE("build_rcode_reply without a readable question sends qdcount 0") {
  PacketWriter p;
  p.header(0x0102, 0x1000, 0, 0, 0, 0);  // STATUS, no question
  const QueryView q = sinkhole::dns::parse_query(p.data(), p.size());
  REQUIRE(q.outcome == sinkhole::dns::ParseOutcome::kNotImp);
  const ClientQuery cq = sinkhole::dns::client_query_from(q, p.data(), 1232, 512);
  std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
  const size_t n = sinkhole::dns::build_rcode_reply(cq, 4, out.data());
  CHECK(n == 12);
  CHECK(get_u16(out.data()) == 0x0102);
  CHECK(get_u16(out.data() + 2) == (kQr | 0x1000 | kRa | 4));
  CHECK(counts(out.data()).qd == 0);
}

TEST_CASE("build_truncated sends header, question and OPT with TC=1") {
  for (const bool with_opt : {false, true}) {
    CAPTURE(with_opt);
    const Client cl = client(0x7777, kRd | kCd, "BiG.tXt.Example.", 16, 1, with_opt, true);
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    const size_t n = sinkhole::dns::build_truncated(cl.cq, 0, out.data());
    CHECK(n == 12 + cl.cq.question_len + (with_opt ? 11 : 0));
    CHECK(get_u16(out.data()) == 0x7777);
    CHECK(get_u16(out.data() + 2) == (kQr | kTc | kRd | kCd | kRa));
    const Counts k = counts(out.data());
    CHECK(k.qd == 1);
    CHECK(k.an == 0);
    CHECK(k.ns == 0);
    CHECK(k.ar == (with_opt ? 1 : 0));
    CHECK(std::string(out.begin() + 12, out.begin() + 12 + cl.cq.question_len) ==
          std::string(cl.packet.data() + 12, cl.packet.data() + 12 + cl.cq.question_len));
    const auto m = sinkhole::dns::parse_message(out.data(), n);
    CHECK(m.ok);
    CHECK(m.truncated());
  }
}

TEST_CASE("build_chaos_txt answers one CH TXT string") {
  struct Case {
    std::string qname;
    std::string text;
    bool with_opt;
  } cases[] = {
      {"VERSION.bind.", "sinkholed 0.1.0", false},
      {"id.SERVER.", "resolver-1", true},
      {"version.bind.", "", false},
      {"version.bind.", std::string(300, 'v'), true},  // capped at 255, one TXT string
  };
  for (const auto& c : cases) {
    INFO(c.qname << " / " << c.text.size());
    const Client cl = client(0xC4A0, kRd, c.qname, 16, 3, c.with_opt);
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    const size_t n = sinkhole::dns::build_chaos_txt(cl.cq, c.text, out.data());
    const size_t shown = std::min<size_t>(c.text.size(), 255);
    const size_t qend = 12 + cl.cq.question_len;
    REQUIRE(n == qend + 12 + 1 + shown + (c.with_opt ? 11 : 0));
    CHECK(get_u16(out.data() + 2) == (kQr | kRd | kRa));
    const Counts k = counts(out.data());
    CHECK(k.qd == 1);
    CHECK(k.an == 1);
    CHECK(k.ar == (c.with_opt ? 1 : 0));
    CHECK(std::string(out.begin() + 12, out.begin() + qend) ==
          std::string(cl.packet.data() + 12, cl.packet.data() + qend));
    const uint8_t* rr = out.data() + qend;
    CHECK(get_u16(rr) == 0xC00C);  // owner: the question name
    CHECK(get_u16(rr + 2) == 16);
    CHECK(get_u16(rr + 4) == 3);
    CHECK(get_u32(rr + 6) == 0);
    CHECK(get_u16(rr + 10) == 1 + shown);
    CHECK(rr[12] == shown);
    CHECK(std::string(rr + 13, rr + 13 + shown) == c.text.substr(0, shown));
    CHECK(sinkhole::dns::parse_message(out.data(), n).ok);
  }
}

TEST_CASE("build_any_hinfo answers ANY with one HINFO \"RFC8482\" \"\" (RFC 8482 4.2)") {
  for (const uint16_t qclass : {uint16_t{1}, uint16_t{4}}) {
    CAPTURE(qclass);
    for (const bool with_opt : {false, true}) {
      CAPTURE(with_opt);
      const Client cl = client(0xA11, kRd, "AnY.Example.COM.", 255, qclass, with_opt, true);
      std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
      const size_t n = sinkhole::dns::build_any_hinfo(cl.cq, out.data());
      const size_t qend = 12 + cl.cq.question_len;
      REQUIRE(n == qend + 12 + 9 + (with_opt ? 11 : 0));
      CHECK(get_u16(out.data()) == 0xA11);
      CHECK(get_u16(out.data() + 2) == (kQr | kRd | kRa));
      CHECK(counts(out.data()).an == 1);
      CHECK(counts(out.data()).ar == (with_opt ? 1 : 0));
      const uint8_t* rr = out.data() + qend;
      CHECK(get_u16(rr) == 0xC00C);
      CHECK(get_u16(rr + 2) == 13);      // HINFO
      CHECK(get_u16(rr + 4) == qclass);  // the question's class
      CHECK(get_u32(rr + 6) == 3600);
      CHECK(get_u16(rr + 10) == 9);
      const std::string rdata(rr + 12, rr + 21);
      CHECK(rdata == std::string("\x07RFC8482\x00", 9));  // CPU "RFC8482", OS ""
      if (with_opt) CHECK(get_u32(out.data() + qend + 21 + 5) == 0x8000);
      CHECK(sinkhole::dns::parse_message(out.data(), n).ok);
    }
  }
}
