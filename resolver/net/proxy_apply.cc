// SPDX-License-Identifier: MIT
#include "resolver/net/proxy_apply.h"

#include "resolver/net/proxy_header.h"

namespace sinkhole::net {

ProxyApplied apply_proxy_header(const uint8_t* data, size_t len, ClientEndpoint& to,
                                size_t& header_len) noexcept {
  const ProxyHeader h = parse_proxy_header(data, len);
  switch (h.status) {
    case ProxyHeader::Status::kOk:
      break;
    case ProxyHeader::Status::kIncomplete:
      return ProxyApplied::kIncomplete;
    case ProxyHeader::Status::kNoSignature:
      return ProxyApplied::kMissing;
    default:
      return ProxyApplied::kMalformed;
  }
  if (h.has_addresses())
    to.set_client(h.source_sa());
  else
    to.proxy_local = true;
  header_len = h.length;
  return ProxyApplied::kApplied;
}

}  // namespace sinkhole::net
