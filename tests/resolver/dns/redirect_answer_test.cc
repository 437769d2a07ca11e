// SPDX-License-Identifier: MIT
// The `cname` action's answer (build_redirect_answer): our CNAME owned by the client's
// question, the upstream's records for the target with every name expanded (the upstream's
// compression pointers point into a message that is not copied), the upstream's rcode, no
// authority or upstream OPT, and our OPT with the block's EDE only for EDNS clients. Each
// answer is re-parsed to prove it is a valid message.
#include "resolver/dns/redirect_answer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "resolver/dns/message_view.h"
#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "test_packet.h"

namespace {

using sinkhole::test::get_u16;
using sinkhole::test::PacketWriter;
using sinkhole::test::wire_name;
namespace dns = sinkhole::dns;

// The upstream's answer for warn.example. A: a CNAME whose owner and target are compressed,
// then the A record of the target, then an OPT (dropped from the result).
PacketWriter upstream_answer(uint16_t rcode = 0) {
  PacketWriter p;
  p.header(0xAAAA, static_cast<uint16_t>(0x8180 | rcode), 1, 2, 0, 1).question("warn.example.", 1);
  p.pointer(12).rr_tail(5, 1, 600, {2, 'l', 'b', 0xC0, 12});  // warn.example CNAME lb.warn.example
  const size_t lb = 12 + 18 + 12;  // header, question, CNAME before its rdata: "lb" starts here
  p.pointer(static_cast<uint16_t>(lb)).rr_tail(1, 1, 90, {203, 0, 113, 10});
  p.opt(1232, 0, 0, false, sinkhole::test::edns_option(3, "upstream-nsid"));
  return p;
}

struct Client {
  PacketWriter packet;
  dns::QueryView view;
  dns::ClientQuery cq;
};

Client client(bool edns) {
  Client c;
  c.packet.header(0x4242, 0x0100, 1, 0, 0, edns ? 1 : 0).question("WWW.Casino.example.", 1);
  if (edns) c.packet.opt(1232);
  c.view = dns::parse_query(c.packet.data(), c.packet.size());
  c.cq = dns::client_query_from(c.view, c.packet.data(), 1232, 1232);
  return c;
}

std::string name_at(const uint8_t* msg, size_t len, size_t off) {
  uint8_t out[dns::kMaxNameWire];
  const dns::NameWalk w = dns::walk_name(msg, len, off, true, out);
  REQUIRE(w.error == dns::NameError::kNone);
  return dns::wire_to_text(out, w.wire_len);
}

}  // namespace

TEST_CASE("redirect answer: our CNAME, then the target's records expanded, then our EDE") {
  const PacketWriter up = upstream_answer();
  const dns::MessageView um = dns::parse_message(up.data(), up.size());
  REQUIRE(um.ok);
  const Client c = client(/*edns=*/true);
  const auto target = wire_name("warn.example.");
  uint8_t out[dns::kMaxMessage];
  const size_t n = dns::build_redirect_answer(c.cq, {target.data(), target.size(), 60}, up.data(),
                                              um, {15, "see gambling"}, out);
  const dns::MessageView m = dns::parse_message(out, n);
  REQUIRE(m.ok);
  CHECK(m.id == 0x4242);
  CHECK(m.rcode() == 0);
  CHECK(m.ancount == 3);
  CHECK(m.nscount == 0);
  CHECK(m.arcount == 1);
  CHECK(name_at(out, n, 12) == "WWW.Casino.example.");  // the client's case, echoed

  std::vector<std::string> owners, types;
  size_t pos = m.question_end;
  std::vector<dns::RecordSpan> recs;
  for (size_t i = 0; i < m.ancount; ++i) {
    const dns::RecordSpan r = dns::skip_record(out, m.end, pos);
    REQUIRE(r.end != 0);
    recs.push_back(r);
    owners.push_back(name_at(out, n, r.name_off));
    pos = r.end;
  }
  CHECK(owners ==
        std::vector<std::string>{"WWW.Casino.example.", "warn.example.", "lb.warn.example."});
  CHECK(recs[0].type == 5);
  CHECK(recs[0].ttl == 60);
  CHECK(name_at(out, n, recs[0].rdata_off) == "warn.example.");
  CHECK(recs[1].type == 5);
  CHECK(recs[1].ttl == 600);
  CHECK(name_at(out, n, recs[1].rdata_off) == "lb.warn.example.");
  CHECK(recs[2].type == 1);
  CHECK(recs[2].rdlen == 4);
  CHECK(out[recs[2].rdata_off] == 203);

  // Our OPT: EDE 15 with the text; the upstream's NSID does not leak.
  const std::string opt(reinterpret_cast<const char*>(out + m.opt_off), m.opt_end - m.opt_off);
  CHECK(opt.find("see gambling") != std::string::npos);
  CHECK(opt.find("upstream-nsid") == std::string::npos);
}

TEST_CASE("redirect answer: the upstream's rcode, and no OPT for a client without EDNS") {
  const PacketWriter up = upstream_answer(/*rcode=*/3);
  const dns::MessageView um = dns::parse_message(up.data(), up.size());
  REQUIRE(um.ok);
  const Client c = client(/*edns=*/false);
  const auto target = wire_name("warn.example.");
  uint8_t out[dns::kMaxMessage];
  const size_t n = dns::build_redirect_answer(c.cq, {target.data(), target.size(), 60}, up.data(),
                                              um, {15, "x"}, out);
  const dns::MessageView m = dns::parse_message(out, n);
  REQUIRE(m.ok);
  CHECK(m.rcode() == 3);
  CHECK(m.arcount == 0);
  CHECK_FALSE(m.has_opt);
  CHECK(get_u16(out + 6) == 3);
}
