// SPDX-License-Identifier: MIT
// NOTIFY for RPZ feed lists (notify_stage.h): the ACL (primary address, zone, TSIG) and the
// reply bytes RFC 1996 asks for.
#include "resolver/pipeline/notify_stage.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <ldns/ldns.h>

#include <vector>

namespace pipeline = sinkhole::pipeline;
namespace policy = sinkhole::policy;

namespace {

constexpr const char* kSecret = "c2lua2hvbGVkLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmch";

sockaddr_in addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

policy::PolicySnapshot snapshot(bool with_key) {
  policy::PolicySnapshot snap;
  policy::ListData l;
  l.name = "mic";
  l.source.kind = policy::ListSource::Kind::kRpz;
  l.source.rpz.zone = "mic.rpz";
  l.source.rpz.primaries.push_back(*sinkhole::config::SocketAddress::parse("127.0.0.30:5470", 53));
  if (with_key) l.source.rpz.tsig = policy::TsigKeySpec{"feed", "hmac-sha256", "f", kSecret};
  snap.lists.push_back(std::move(l));
  return snap;
}

// A NOTIFY for `zone`, signed with `secret` under key `feed` when given.
std::vector<uint8_t> notify(const char* zone, const char* secret = nullptr) {
  ldns_pkt* p =
      ldns_pkt_query_new(ldns_dname_new_frm_str(zone), LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, LDNS_AA);
  ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
  ldns_pkt_set_id(p, 0x1234);
  if (secret)
    REQUIRE(ldns_pkt_tsig_sign(p, "feed", secret, 300, "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
  uint8_t* wire = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, p, &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

pipeline::NotifyOutcome run(const std::vector<uint8_t>& msg, const char* from_ip,
                            const policy::PolicySnapshot& snap, std::vector<uint8_t>& out) {
  const auto q = sinkhole::dns::parse_query(msg.data(), msg.size());
  REQUIRE(q.opcode() == pipeline::kOpcodeNotify);
  REQUIRE(q.question_ok);
  const auto from = addr(from_ip, 40000);
  out.assign(4096, 0);
  auto o =
      pipeline::answer_notify(msg.data(), msg.size(), q, reinterpret_cast<const sockaddr*>(&from),
                              snap, out.data(), out.size());
  out.resize(o.size);
  return o;
}

}  // namespace

TEST_CASE("notify: from the primary (any port), for its zone: NOERROR, QR AA opcode NOTIFY") {
  const auto snap = snapshot(false);
  const auto msg = notify("MIC.rpz.");
  std::vector<uint8_t> out;
  const auto o = run(msg, "127.0.0.30", snap, out);
  CHECK(o.accepted);
  CHECK(o.zone == "mic.rpz");
  CHECK(o.from == "127.0.0.30");
  // The header: same id, QR | opcode 4 | AA, rcode 0, one question, nothing else.
  REQUIRE(out.size() == msg.size());
  CHECK(out[0] == 0x12);
  CHECK(out[1] == 0x34);
  CHECK(out[2] == (0x80 | (4 << 3) | 0x04));
  CHECK(out[3] == 0);
  CHECK(out[5] == 1);
  CHECK(out[7] == 0);
  CHECK(out[9] == 0);
  CHECK(out[11] == 0);
  CHECK(std::equal(out.begin() + 12, out.end(), msg.begin() + 12));  // the question echoed
}

TEST_CASE("notify: another address, or a zone that is not ours: REFUSED") {
  const auto snap = snapshot(false);
  std::vector<uint8_t> out;
  auto o = run(notify("mic.rpz."), "127.0.0.31", snap, out);
  CHECK_FALSE(o.accepted);
  CHECK(o.rcode == 5);
  CHECK((out[3] & 0x0f) == 5);
  CHECK((out[2] & 0x80) != 0);
  o = run(notify("other.rpz."), "127.0.0.30", snap, out);
  CHECK_FALSE(o.accepted);
  CHECK(o.reason == "not a zone of ours");
}

TEST_CASE("notify: a list with a key wants the request signed with it; the reply is signed") {
  const auto snap = snapshot(true);
  std::vector<uint8_t> out;
  auto o = run(notify("mic.rpz."), "127.0.0.30", snap, out);  // unsigned
  CHECK_FALSE(o.accepted);
  CHECK(o.rcode == 5);
  o = run(notify("mic.rpz.", "d3JvbmctdGVzdC1rZXktMzItYnl0ZXMtbG9uZy4uLi4="), "127.0.0.30", snap,
          out);  // another secret
  CHECK_FALSE(o.accepted);
  CHECK(o.rcode == 9);  // NOTAUTH
  const auto msg = notify("mic.rpz.", kSecret);
  o = run(msg, "127.0.0.30", snap, out);
  REQUIRE(o.accepted);
  ldns_pkt* reply = nullptr;
  REQUIRE(ldns_wire2pkt(&reply, out.data(), out.size()) == LDNS_STATUS_OK);
  CHECK(ldns_pkt_get_opcode(reply) == LDNS_PACKET_NOTIFY);
  CHECK(ldns_pkt_qr(reply));
  CHECK(ldns_pkt_aa(reply));
  CHECK(ldns_pkt_get_rcode(reply) == LDNS_RCODE_NOERROR);
  REQUIRE(ldns_pkt_tsig(reply) != nullptr);
  // Verifiable against the request's MAC (as the primary checks it).
  ldns_pkt* req = nullptr;
  REQUIRE(ldns_wire2pkt(&req, msg.data(), msg.size()) == LDNS_STATUS_OK);
  CHECK(ldns_pkt_tsig_verify(reply, out.data(), out.size(), "feed", kSecret,
                             ldns_rr_rdf(ldns_pkt_tsig(req), 3)));
  ldns_pkt_free(req);
  ldns_pkt_free(reply);
}
