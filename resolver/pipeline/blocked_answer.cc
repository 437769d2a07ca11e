// SPDX-License-Identifier: MIT
#include "resolver/pipeline/blocked_answer.h"

#include <algorithm>
#include <cstring>

#include "resolver/dns/synth_answer.h"

namespace sinkhole::pipeline {

namespace rrtype = dns::rrtype;

BlockedAnswer build_blocked_answer(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                                   const dns::ClientQuery& cq, uint16_t qtype, uint8_t* out) {
  BlockedAnswer result;
  const policy::Action& a = snap.actions[v.action];
  const policy::ListData& list = snap.lists[v.list];
  char text[512];
  const size_t text_len =
      policy::render_ede(a.ede_text, policy::ede_fields(list, v.line), text, sizeof text);
  const dns::Ede ede = a.ede ? dns::Ede{a.ede_code, {text, text_len}} : dns::Ede{};
  const size_t qname_len = cq.question_len - 4;
  // The SOA's owner is the listed name (the question minus `depth` labels) unless the block
  // was found in a CNAME chain (depth 0: the question's own name).
  const dns::SynthSoa soa{dns::suffix_offset(cq.question, qname_len, v.depth), a.soa_ttl,
                          static_cast<uint32_t>(snap.generation)};
  auto redirect = [&](const dns::Redirect& target) {
    result.redirect = true;
    result.target = target;
    result.ede_code = a.ede ? a.ede_code : dns::kNoEde;
    result.ede_len = static_cast<uint8_t>(std::min(text_len, kMaxRedirectEdeText));
    std::memcpy(result.ede_text, text, result.ede_len);
  };
  constexpr size_t kMaxRecords = 16;
  dns::SynthRecord recs[kMaxRecords];
  size_t n = 0;
  uint16_t rcode = 0;
  bool negative = false;  // NXDOMAIN/NODATA: add the SOA for negative caching
  switch (a.kind) {
    case policy::ActionKind::kSinkhole:
      if (qtype == rrtype::kA)
        for (const auto& addr : a.a)
          if (n < kMaxRecords) recs[n++] = {rrtype::kA, a.ttl, addr.data(), 4};
      if (qtype == rrtype::kAaaa)
        for (const auto& addr : a.aaaa)
          if (n < kMaxRecords) recs[n++] = {rrtype::kAaaa, a.ttl, addr.data(), 16};
      negative = n == 0;
      break;
    case policy::ActionKind::kNxDomain:
      rcode = static_cast<uint16_t>(dns::Rcode::kNxDomain);
      negative = true;
      break;
    case policy::ActionKind::kNoData:
      negative = true;
      break;
    case policy::ActionKind::kRefused:
      rcode = static_cast<uint16_t>(dns::Rcode::kRefused);
      break;
    case policy::ActionKind::kDrop:
    case policy::ActionKind::kPassthru:  // decided as a monitor verdict, never here
      result.step = Step::drop();
      return result;
    case policy::ActionKind::kTcpOnly:
      // Over UDP a TC=1 stub sends the client to TCP, where the query is served.
      result.truncated = true;
      result.step = Step::reply(0, dns::build_truncated(cq, 0, out));
      return result;
    case policy::ActionKind::kCname:
      if (qtype == rrtype::kCname) {  // asked for the CNAME itself: nothing to chase
        recs[n++] = {rrtype::kCname, a.ttl, a.target.data(),
                     static_cast<uint16_t>(a.target.size())};
        break;
      }
      redirect({a.target.data(), a.target.size(), a.ttl});
      return result;
    case policy::ActionKind::kLocalData: {
      const blocklist::LocalRecord* cname = nullptr;
      size_t of_type = 0;
      const auto it = list.local.find(v.entry);
      if (it != list.local.end())
        for (const auto& rec : it->second) {
          if (rec.type == rrtype::kCname) cname = &rec;
          of_type += rec.type == qtype;
          if ((rec.type == qtype || rec.type == rrtype::kCname) && n < kMaxRecords)
            recs[n++] = {rec.type, rec.ttl, rec.rdata.data(),
                         static_cast<uint16_t>(rec.rdata.size())};
        }
      if (cname && of_type == 0) {
        // `name CNAME other.name.`: the answer is the CNAME plus other.name's records, as
        // BIND, PowerDNS and Unbound give it; the pipeline resolves (and checks) the target.
        redirect({cname->rdata.data(), cname->rdata.size(), cname->ttl});
        result.local_data = true;
        return result;
      }
      negative = n == 0;
      break;
    }
  }
  size_t size = dns::build_synthesized(cq, rcode, recs, n, negative ? &soa : nullptr, ede, out);
  if (size > cq.reply_limit) {
    result.truncated = true;
    size = dns::build_truncated(cq, rcode, out);
  }
  result.step = Step::reply(rcode, size);
  return result;
}

}  // namespace sinkhole::pipeline
