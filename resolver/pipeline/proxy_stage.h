// SPDX-License-Identifier: MIT
// The PROXY v2 stage (pipeline stage 1, UDP; TCP reads its header in net/tcp_listener.cc,
// once per connection): who the client of a datagram is when a load balancer forwards it.
//
// A datagram from a trusted proxy (server.proxy_protocol_from, AdmitStage::trusts_proxy)
// must begin with a PROXY v2 header: it is stripped, and the header's source address
// becomes the client (`ClientEndpoint::addr`) for every later stage, while the reply still
// goes to the proxy (`ClientEndpoint::peer`). A LOCAL header (a proxy's own health check),
// or one for UNSPEC or UNIX addresses, leaves the proxy as the client. A trusted datagram
// with no header, or a broken one, is dropped: serving it as the proxy's own query would
// hand the proxy's policy to an unknown subscriber. A header from any other source is
// dropped too: nobody else may choose the address they are judged by (and no DNS query
// can begin with the signature: its flags would be 0x0D0A, opcode 1).
//
// Pure and allocation-free; the pipeline counts the outcome. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/net/client_endpoint.h"

namespace sinkhole::pipeline {

enum class ProxyOutcome : uint8_t {
  kPlain,      // not trusted, no header: served as it came
  kProxied,    // trusted, a valid header: stripped, `from` names the client
  kUntrusted,  // a header from a source not trusted: drop
  kMissing,    // trusted, no header: drop
  kMalformed,  // trusted, a header that is truncated, malformed or not version 2: drop
};

// `trusted`: the datagram's peer is a trusted proxy. On kProxied, `msg` and `len` are
// moved past the header and `from`'s client is set.
ProxyOutcome strip_proxy_header(bool trusted, const uint8_t*& msg, size_t& len,
                                net::ClientEndpoint& from) noexcept;

}  // namespace sinkhole::pipeline
