// SPDX-License-Identifier: MIT
// ClientFilter: whether a client address may be served at all, asked by the TCP listener
// when it accepts a connection (so that a denied client's connection is closed before a
// byte is read), and whether a peer is a trusted proxy whose connections begin with a
// PROXY v2 header (then the client it names is asked instead, once the header is read).
// Implemented by the pipeline's admit stage. Worker thread only.
#pragma once

#include <sys/socket.h>

namespace sinkhole::net {

class ClientFilter {
 public:
  virtual ~ClientFilter() = default;
  virtual bool admits(const sockaddr* client) const noexcept = 0;
  virtual bool trusts_proxy(const sockaddr* peer) const noexcept = 0;
};

}  // namespace sinkhole::net
