// SPDX-License-Identifier: MIT
// tap_peer: the dnstap view of a client endpoint — the client's address, ours (from the UDP
// socket, or the TCP connection), the transport and the query's arrival time. Only called
// while dnstap is on. Worker thread only.
#pragma once

#include "resolver/dnstap/message_encoder.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"

namespace sinkhole::pipeline {

inline dnstap::Peer tap_peer(const net::ClientEndpoint& e) {
  dnstap::Peer p;
  p.client = e.sa();
  p.tcp = e.is_tcp();
  if (e.is_tcp())
    p.server = e.tcp ? e.tcp->local_address() : nullptr;
  else
    p.server = e.udp ? e.udp->local_address() : nullptr;
  p.query_ns = e.received_ns;
  return p;
}

}  // namespace sinkhole::pipeline
