// SPDX-License-Identifier: MIT
#include "resolver/pipeline/net_reply_sink.h"

#include "resolver/dnstap/dnstap_writer.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"

namespace sinkhole::pipeline {

namespace {

// The dnstap view of a client endpoint: the client's address (behind a trusted proxy, the
// one its PROXY header named: dnstap shows who asked, as every log does), ours (from the
// UDP socket, or the TCP connection), the transport and the query's arrival time.
dnstap::Peer tap_peer(const net::ClientEndpoint& e) {
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

}  // namespace

void NetReplySink::received(const net::ClientEndpoint& from, const uint8_t* msg, size_t len) {
  if (tap_) tap_->client_query(tap_peer(from), msg, len);
}

void NetReplySink::send(const net::ClientEndpoint& to, const uint8_t* data, size_t len) {
  if (to.is_tcp())
    to.tcp->send(data, len);
  else
    to.udp->send(to.peer_sa(), data, len);
  if (tap_) tap_->client_response(tap_peer(to), data, len);
}

void NetReplySink::hold(const net::ClientEndpoint& to) {
  if (to.is_tcp()) to.tcp->retain();
}

void NetReplySink::release(const net::ClientEndpoint& to) {
  if (to.is_tcp()) to.tcp->release();
}

}  // namespace sinkhole::pipeline
