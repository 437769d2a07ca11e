// SPDX-License-Identifier: MIT
#include "resolver/dns/redirect_answer.h"

#include <cstring>

#include "resolver/dns/chain_answer.h"

namespace sinkhole::dns {

size_t write_redirect_cname(const ClientQuery& cq, const Redirect& r, uint8_t* out) {
  const size_t qname_len = cq.question_len - 4;
  std::memcpy(out, cq.question, qname_len);
  size_t pos = qname_len;
  write_u16(out + pos, rrtype::kCname);
  std::memcpy(out + pos + 2, cq.question + qname_len + 2, 2);  // the question's class
  write_u32(out + pos + 4, r.ttl);
  write_u16(out + pos + 8, static_cast<uint16_t>(r.target_len));
  std::memcpy(out + pos + 10, r.target, r.target_len);
  return pos + 10 + r.target_len;
}

size_t build_redirect_answer(const ClientQuery& cq, const Redirect& r, const uint8_t* resp,
                             const MessageView& m, Ede ede, uint8_t* out) {
  uint8_t cname[kMaxRedirectCname];
  const size_t len = write_redirect_cname(cq, r, cname);
  return build_chain_answer(cq, m.rcode() & 0xF, cname, len, 1, resp, m,
                            /*with_authority=*/false, ede, out);
}

}  // namespace sinkhole::dns
