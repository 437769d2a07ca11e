// SPDX-License-Identifier: MIT
#include "resolver/pipeline/proxy_stage.h"

#include "resolver/net/proxy_header.h"

namespace sinkhole::pipeline {

ProxyOutcome strip_proxy_header(bool trusted, const uint8_t*& msg, size_t& len,
                                net::ClientEndpoint& from) noexcept {
  if (!trusted)
    return net::has_proxy_signature(msg, len) ? ProxyOutcome::kUntrusted : ProxyOutcome::kPlain;
  const net::ProxyHeader h = net::parse_proxy_header(msg, len);
  switch (h.status) {
    case net::ProxyHeader::Status::kOk:
      break;
    case net::ProxyHeader::Status::kNoSignature:
      return ProxyOutcome::kMissing;
    default:  // a datagram is whole: incomplete means truncated
      return ProxyOutcome::kMalformed;
  }
  if (h.has_addresses())
    from.set_client(h.source_sa());
  else
    from.proxy_local = true;
  msg += h.length;
  len -= h.length;
  return ProxyOutcome::kProxied;
}

}  // namespace sinkhole::pipeline
