// SPDX-License-Identifier: MIT
// find_chain_end: which upstream answers leave a CNAME/DNAME chain unfinished (and where it
// ends), which are complete as they are (data, NODATA/NXDOMAIN, a referral, a CNAME
// question), and which loop; name_at_or_below on label boundaries and in any case.
#include "resolver/dns/chain_answer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "resolver/dns/name.h"
#include "test_packet.h"

namespace {

using sinkhole::test::PacketWriter;
using sinkhole::test::wire_name;
namespace dns = sinkhole::dns;
using Kind = dns::ChainEnd::Kind;

struct Rec {
  std::string owner;
  uint16_t type;
  std::vector<uint8_t> rdata;
};

PacketWriter response(const std::string& qname, uint16_t qtype, const std::vector<Rec>& an,
                      const std::vector<Rec>& ns = {}, uint16_t rcode = 0) {
  PacketWriter p;
  p.header(1, static_cast<uint16_t>(0x8180 | rcode), 1, static_cast<uint16_t>(an.size()),
           static_cast<uint16_t>(ns.size()), 0)
      .question(qname, qtype);
  for (const auto& r : an) p.name(r.owner).rr_tail(r.type, 1, 300, r.rdata);
  for (const auto& r : ns) p.name(r.owner).rr_tail(r.type, 1, 300, r.rdata);
  return p;
}

Rec cname(const std::string& owner, const std::string& target) {
  return {owner, 5, wire_name(target)};
}

dns::ChainEnd end_of(const PacketWriter& p) {
  const dns::MessageView m = dns::parse_message(p.data(), p.size());
  REQUIRE(m.ok);
  return dns::find_chain_end(p.data(), m);
}

std::string target(const dns::ChainEnd& e) {
  return dns::wire_to_text(e.target, e.target_len);
}

}  // namespace

TEST_CASE("chain end: unfinished chains and where they end") {
  auto e = end_of(response("www.a.test.", 1, {cname("WWW.A.test.", "www.b.test.")}));
  CHECK(e.kind == Kind::kChase);
  CHECK(target(e) == "www.b.test.");
  CHECK(e.links == 1);
  // Records in any order; the chain is followed from the question.
  e = end_of(
      response("x.a.test.", 1, {cname("y.b.test.", "Z.c.test."), cname("x.a.test.", "y.b.test.")}));
  CHECK(e.kind == Kind::kChase);
  CHECK(target(e) == "z.c.test.");
  CHECK(e.links == 2);
  // A DNAME alone is substituted.
  e = end_of(response("host.old.test.", 1, {{"old.test.", 39, wire_name("new.example.")}}));
  CHECK(e.kind == Kind::kChase);
  CHECK(target(e) == "host.new.example.");
  // The question's own NS in the authority section is no referral for the target.
  e = end_of(response("www.a.test.", 1, {cname("www.a.test.", "www.b.test.")},
                      {{"a.test.", 2, wire_name("ns.a.test.")}}));
  CHECK(e.kind == Kind::kChase);
}

TEST_CASE("chain end: complete answers") {
  // Data for the question's type.
  CHECK(end_of(response("www.a.test.", 1,
                        {cname("www.a.test.", "www.b.test."), {"www.b.test.", 1, {1, 2, 3, 4}}}))
            .kind == Kind::kComplete);
  // No alias at all, or no answer.
  CHECK(end_of(response("www.a.test.", 1, {})).kind == Kind::kComplete);
  CHECK(end_of(response("www.a.test.", 16, {{"www.a.test.", 16, {1, 'x'}}})).kind ==
        Kind::kComplete);
  // NODATA at the target: its zone's SOA.
  CHECK(end_of(response("www.a.test.", 1, {cname("www.a.test.", "www.b.test.")},
                        {{"b.test.", 6, std::vector<uint8_t>(22, 0)}}))
            .kind == Kind::kComplete);
  // A referral for the target's zone.
  CHECK(end_of(response("www.a.test.", 1, {cname("www.a.test.", "x.sub.a.test.")},
                        {{"sub.a.test.", 2, wire_name("ns.sub.a.test.")}}))
            .kind == Kind::kComplete);
  // Not NOERROR, or a question for the alias itself.
  CHECK(end_of(response("www.a.test.", 1, {cname("www.a.test.", "www.b.test.")}, {}, 3)).kind ==
        Kind::kComplete);
  CHECK(end_of(response("www.a.test.", 5, {cname("www.a.test.", "www.b.test.")})).kind ==
        Kind::kComplete);
  // A CNAME owned by another name than the question: nothing to follow.
  CHECK(end_of(response("www.a.test.", 1, {cname("other.a.test.", "www.b.test.")})).kind ==
        Kind::kComplete);
}

TEST_CASE("chain end: loops inside one answer") {
  CHECK(end_of(
            response("l1.test.", 1, {cname("l1.test.", "l2.test."), cname("l2.test.", "l1.test.")}))
            .kind == Kind::kLoop);
  CHECK(end_of(response("l1.test.", 1, {cname("l1.test.", "l1.test.")})).kind == Kind::kLoop);
}

TEST_CASE("name_at_or_below: label boundaries, case, the root") {
  const auto name = wire_name("www.Example.test.");
  auto below = [&](const char* zone) {
    const auto z = wire_name(zone);
    return dns::name_at_or_below(name.data(), name.size(), z.data(), z.size());
  };
  CHECK(below("example.TEST."));
  CHECK(below("www.example.test."));
  CHECK(below("test."));
  CHECK(below("."));
  CHECK_FALSE(below("ample.test."));
  CHECK_FALSE(below("a.www.example.test."));
  CHECK_FALSE(below("other.test."));
}
