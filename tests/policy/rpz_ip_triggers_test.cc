// SPDX-License-Identifier: MIT
// RPZ IP triggers in the policy snapshot: the longest-prefix tables of a list (IPv4, IPv6,
// IPv4-mapped), the per-policy flags that keep lists without IP triggers free, decide()
// with a client (client-ip beats QNAME in one zone, the first zone wins across zones, the
// deciding rule's index), the entry count the list guard sees, and explain --client.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <string>

#include "policy/explain.h"
#include "policy/snapshot_builder.h"
#include "resolver/dns/name.h"
#include "tests/policy/temp_dir.h"

namespace {

using namespace sinkhole::policy;
using Kind = Verdict::Kind;
using sinkhole::test::TempDir;

constexpr const char* kSoa =
    "$TTL 300\n@ SOA ns.rpz.example. hostmaster.rpz.example. 1 3600 600 86400 300\n";

struct Fixture {
  TempDir tmp;
  std::shared_ptr<const PolicySnapshot> s;
  Fixture() {
    tmp.write("a.rpz", std::string(kSoa) +
                           "32.9.0.0.127.rpz-client-ip CNAME rpz-drop.\n"     // 3
                           "16.0.0.0.10.rpz-client-ip CNAME *.\n"             // 4
                           "24.0.0.0.10.rpz-client-ip CNAME rpz-passthru.\n"  // 5
                           "64.zz.5.db8.2001.rpz-client-ip CNAME .\n"         // 6
                           "www.example CNAME .\n"                            // 7
                           "24.0.2.0.192.rpz-ip CNAME .\n");                  // 8
    tmp.write("b.rpz", std::string(kSoa) + "other.example CNAME .\n" +
                           "32.8.0.0.127.rpz-client-ip CNAME .\n");
    tmp.write("names.txt", "plain.example\n");
    const std::string yaml = R"(
lists:
  a: { path: a.rpz, format: rpz }
  b: { path: b.rpz, format: rpz }
  names: { path: names.txt }
policies:
  - name: both
    clients: ["0.0.0.0/0", "::/0"]
    block: [{ list: names }, { list: b }, { list: a }]
  - name: plain
    clients: ["192.168.0.0/16"]
    block: [{ list: names }]
)";
    const BuildResult r = build_snapshot(yaml, tmp.write("sinkholed.yaml", yaml), 1);
    std::string errors;
    for (const auto& e : r.errors) errors += "\n  " + e;
    INFO(errors);
    REQUIRE(r.snapshot != nullptr);
    s = r.snapshot;
  }
  const ListData& list(const char* name) const {
    for (const auto& l : s->lists)
      if (l.name == name) return l;
    FAIL("no list ", name);
    return s->lists[0];
  }
  Verdict decide(const char* name, const char* client) const {
    sockaddr_storage ss{};
    REQUIRE(parse_client_address(client, ss));
    uint8_t wire[sinkhole::dns::kMaxNameWire];
    const size_t n = sinkhole::dns::text_to_wire(name, wire);
    const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
    return s->decide(s->classify(sa), wire, n, nullptr, sa);
  }
};

TEST_CASE("RpzIpTriggers: longest prefix, IPv6, IPv4-mapped; the entry count") {
  Fixture f;
  const ListData& a = f.list("a");
  REQUIRE(a.ip_triggers);
  CHECK(a.ip_triggers->size() == 5);
  CHECK(a.ip_triggers->has_client());
  CHECK(a.ip_triggers->has_answer());
  CHECK(a.stats.entries == 6);  // one name and five prefixes: the list guard counts them
  auto client = [&](const char* text) -> uint32_t {
    sockaddr_storage ss{};
    REQUIRE(parse_client_address(text, ss));
    const IpRule* r = a.ip_triggers->match_client(reinterpret_cast<const sockaddr*>(&ss));
    return r ? r->rule.line : 0;
  };
  CHECK(client("10.0.0.1") == 5);  // the /24 inside the /16
  CHECK(client("10.0.2.1") == 4);
  CHECK(client("10.1.0.1") == 0);
  CHECK(client("127.0.0.9") == 3);
  CHECK(client("::ffff:127.0.0.9") == 3);
  CHECK(client("127.0.0.8") == 0);
  CHECK(client("2001:db8:5::1") == 6);
  CHECK(client("2001:db8:6::1") == 0);
  const uint8_t in[4] = {192, 0, 2, 200}, out[4] = {192, 0, 3, 1};
  REQUIRE(a.ip_triggers->match_answer_v4(in));
  CHECK(a.ip_triggers->match_answer_v4(in)->rule.line == 8);
  CHECK(a.ip_triggers->match_answer_v4(out) == nullptr);
  CHECK(f.list("names").ip_triggers == nullptr);
}

TEST_CASE("Policy flags: only policies with IP-trigger lists pay for them") {
  Fixture f;
  const Policy& both = f.s->policies[0];
  CHECK(both.has_client_ip);
  CHECK(both.first_answer_ip == 2);  // list a, third in the block order
  const Policy& plain = f.s->policies[1];
  CHECK_FALSE(plain.has_client_ip);
  CHECK(plain.first_answer_ip == Policy::kNoAnswerIp);
  CHECK(f.s->any_answer_ip);
}

TEST_CASE("decide with a client: client-ip beats QNAME in a zone, the first zone wins") {
  Fixture f;
  // In zone a: the client's rule (drop) beats the name's (nxdomain).
  Verdict v = f.decide("www.example", "127.0.0.9");
  CHECK(v.kind == Kind::kBlock);
  CHECK(v.action == f.s->drop);
  CHECK(v.line == 3);
  CHECK((v.entry & kIpTriggerEntry) != 0);
  CHECK(v.rule == 2);
  // A client-ip passthru lifts the name's rule of the same zone.
  v = f.decide("www.example", "10.0.0.1");
  CHECK(v.kind == Kind::kAllow);
  CHECK(v.rule == 2);
  // Zone b comes first: its client rule decides before zone a's name rule.
  v = f.decide("www.example", "127.0.0.8");
  CHECK(v.list == 1);
  CHECK(v.action == f.s->nxdomain);
  CHECK(v.rule == 1);
  // Nothing for this client: the name decides, and no rule: rule = block.size().
  v = f.decide("www.example", "198.51.100.1");
  CHECK(v.list == 0);
  CHECK(v.line == 7);
  CHECK(f.decide("nothing.example", "198.51.100.1").rule == 3);
  // Without a client, as before.
  uint8_t wire[sinkhole::dns::kMaxNameWire];
  const size_t n = sinkhole::dns::text_to_wire("anything.example", wire);
  CHECK(f.s->decide(0, wire, n, nullptr).kind == Kind::kAllow);
}

TEST_CASE("explain --client names the rpz-client-ip rule") {
  Fixture f;
  sockaddr_storage ss{};
  REQUIRE(parse_client_address("127.0.0.9", ss));
  const Explanation e = explain(*f.s, "www.example", reinterpret_cast<const sockaddr*>(&ss));
  CHECK(e.outcome == Explanation::Outcome::kBlocked);
  CHECK(e.list == "a");
  CHECK(e.line == 3);
  CHECK(e.rule == "rpz-client-ip 127.0.0.9/32");
  CHECK(e.action == "drop");
  // Without a client the name rule shows.
  const auto each = explain_policies(*f.s, "www.example");
  REQUIRE(!each.empty());
  CHECK(each[0].rule == "www.example");
  CHECK(each[0].line == 7);
}

}  // namespace
