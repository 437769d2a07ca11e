// SPDX-License-Identifier: MIT
#include "resolver/pipeline/proxy_stage.h"

#include "resolver/net/proxy_apply.h"
#include "resolver/net/proxy_header.h"

namespace sinkhole::pipeline {

ProxyOutcome strip_proxy_header(bool trusted, const uint8_t*& msg, size_t& len,
                                net::ClientEndpoint& from) noexcept {
  if (!trusted)
    return net::has_proxy_signature(msg, len) ? ProxyOutcome::kUntrusted : ProxyOutcome::kPlain;
  size_t header_len = 0;
  switch (net::apply_proxy_header(msg, len, from, header_len)) {
    case net::ProxyApplied::kApplied:
      break;
    case net::ProxyApplied::kMissing:
      return ProxyOutcome::kMissing;
    case net::ProxyApplied::kIncomplete:  // a datagram is whole: incomplete means truncated
    case net::ProxyApplied::kMalformed:
      return ProxyOutcome::kMalformed;
  }
  msg += header_len;
  len -= header_len;
  return ProxyOutcome::kProxied;
}

}  // namespace sinkhole::pipeline
