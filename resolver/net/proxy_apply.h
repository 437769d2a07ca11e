// SPDX-License-Identifier: MIT
// A PROXY v2 header from a trusted proxy, applied to the query's ClientEndpoint: the one
// place that decides who the client is, for UDP (pipeline/proxy_stage.cc, per datagram)
// and TCP (tcp_listener.cc, once per connection). A PROXY command over IPv4 or IPv6 names
// the client (`ClientEndpoint::set_client`; replies still go to the proxy); LOCAL (the
// proxy's own health check) and UNSPEC or UNIX addresses leave the proxy as the client,
// marked `proxy_local` (served, but not a protected user). Each caller counts the outcome
// its own way (UDP: ProxyOutcome; TCP: closing the connection with a counter).
//
// Pure and allocation-free (the hot path of a proxied datagram). Any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/net/client_endpoint.h"

namespace sinkhole::net {

enum class ProxyApplied : uint8_t {
  kApplied,     // a valid header: `to` updated, `header_len` bytes to skip
  kIncomplete,  // a prefix of a header that may still be valid (TCP: wait; UDP: malformed)
  kMissing,     // no signature: the trusted proxy sent no header
  kMalformed,   // the signature, then something broken or not version 2
};

// Parses the header at the start of `data` (`len` bytes) and, when it is whole and valid,
// applies it to `to` and sets `header_len`. `to` is left alone otherwise.
ProxyApplied apply_proxy_header(const uint8_t* data, size_t len, ClientEndpoint& to,
                                size_t& header_len) noexcept;

}  // namespace sinkhole::net
