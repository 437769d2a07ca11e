// SPDX-License-Identifier: MIT
#include "resolver/pipeline/notify_stage.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>

#include <cstring>

#include "resolver/dns/name.h"

namespace sinkhole::pipeline {

namespace {

constexpr uint16_t kNoError = 0;
constexpr uint16_t kRefused = 5;
constexpr uint16_t kNotAuth = 9;

bool same_address(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
  if (a->sa_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, 16) == 0;
  return false;
}

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// The reply without TSIG: the header and question of the request, flags set, counts 1/0/0/0.
size_t plain_reply(const uint8_t* msg, const dns::QueryView& q, uint16_t rcode, uint8_t* out,
                   size_t cap) {
  const size_t qlen = 12 + q.qname_len + 4;
  if (qlen > cap) return 0;
  std::memcpy(out, msg, qlen);
  out[2] = static_cast<uint8_t>(0x80 | (kOpcodeNotify << 3) | 0x04 | (msg[2] & 0x01));  // QR AA
  out[3] = static_cast<uint8_t>(rcode & 0x0f);
  out[4] = 0, out[5] = 1;
  std::memset(out + 6, 0, 6);
  return qlen;
}

// The signed reply (RFC 8945 §5.3: the request's MAC goes into the reply's digest).
size_t signed_reply(const ldns_pkt* req, const policy::TsigKeySpec& key, uint16_t rcode,
                    uint8_t* out, size_t cap) {
  ldns_pkt* r = ldns_pkt_new();
  ldns_pkt_set_id(r, ldns_pkt_id(req));
  ldns_pkt_set_qr(r, true);
  ldns_pkt_set_aa(r, true);
  ldns_pkt_set_opcode(r, LDNS_PACKET_NOTIFY);
  ldns_pkt_set_rcode(r, static_cast<uint8_t>(rcode));
  if (ldns_pkt_qdcount(req) > 0)
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
                     ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(req), 0)));
  const std::string alg =
      key.algorithm == "hmac-md5" ? "hmac-md5.sig-alg.reg.int." : key.algorithm + ".";
  size_t n = 0;
  if (ldns_pkt_tsig_sign(r, key.name.c_str(), key.secret.c_str(), 300, alg.c_str(),
                         ldns_rr_rdf(ldns_pkt_tsig(req), 3)) == LDNS_STATUS_OK) {
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, r, &size) == LDNS_STATUS_OK && size <= cap) {
      std::memcpy(out, wire, size);
      n = size;
    }
    free(wire);
  }
  ldns_pkt_free(r);
  return n;
}

}  // namespace

NotifyOutcome answer_notify(const uint8_t* msg, size_t len, const dns::QueryView& q,
                            const sockaddr* from, const policy::PolicySnapshot& snap, uint8_t* out,
                            size_t out_cap) {
  NotifyOutcome o;
  const uint8_t* qname = msg + 12;
  const policy::ListData* match = nullptr;
  bool zone_known = false;
  uint8_t wire[dns::kMaxNameWire];
  for (const auto& l : snap.lists) {
    if (l.source.kind != policy::ListSource::Kind::kRpz) continue;
    const size_t n = dns::text_to_wire(l.source.rpz.zone, wire);
    if (n != q.qname_len || !dns::wire_names_equal_ci(qname, wire, n)) continue;
    zone_known = true;
    for (const auto& p : l.source.rpz.primaries)
      if (same_address(p.sa(), from)) match = &l;
    if (match) break;
  }
  if (!match) {
    o.reason = zone_known ? "not from a primary of the zone" : "not a zone of ours";
    o.rcode = kRefused;
    o.size = plain_reply(msg, q, kRefused, out, out_cap);
    return o;
  }
  const auto& tsig = match->source.rpz.tsig;
  // Any message with a TSIG record is parsed; with none, the key decides.
  ldns_pkt* pkt = nullptr;
  const bool parsed = ldns_wire2pkt(&pkt, msg, len) == LDNS_STATUS_OK;
  const bool signed_req = parsed && ldns_pkt_tsig(pkt) != nullptr;
  if (tsig) {
    bool ok = false;
    if (signed_req) {
      const ldns_rr* t = ldns_pkt_tsig(pkt);
      char* kn = ldns_rdf2str(ldns_rr_owner(t));
      std::string keyname = kn ? kn : "";
      free(kn);
      if (!keyname.empty() && keyname.back() == '.') keyname.pop_back();
      ok = strcasecmp(keyname.c_str(), tsig->name.c_str()) == 0 &&
           ldns_pkt_tsig_verify(pkt, msg, len, tsig->name.c_str(), tsig->secret.c_str(), nullptr);
    }
    if (!ok) {
      o.reason = signed_req ? "bad TSIG signature" : "not signed (the list has a TSIG key)";
      // RFC 8945 §5.2: an unverifiable request gets NOTAUTH, unsigned.
      o.rcode = signed_req ? kNotAuth : kRefused;
      o.size = plain_reply(msg, q, o.rcode, out, out_cap);
      if (pkt) ldns_pkt_free(pkt);
      return o;
    }
    o.size = signed_reply(pkt, *tsig, kNoError, out, out_cap);
  } else {
    o.size = plain_reply(msg, q, kNoError, out, out_cap);
  }
  if (pkt) ldns_pkt_free(pkt);
  o.accepted = true;
  o.rcode = kNoError;
  o.zone = match->source.rpz.zone;
  o.from = address_text(from);
  return o;
}

}  // namespace sinkhole::pipeline
