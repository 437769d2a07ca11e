// SPDX-License-Identifier: MIT
// Who asked and where the reply goes: the client's address, and a UDP listener plus the
// address the datagram came from, or a TCP connection. The two addresses differ only behind
// a trusted proxy (server.proxy_protocol_from): its PROXY v2 header names the client, and
// the reply still goes to the proxy. Plain data, copied into in-flight waiters; a TCP
// connection stays alive while a waiter holds it (TcpConnection::retain/release).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace sinkhole::net {

class UdpListener;
class TcpConnection;

struct ClientEndpoint {
  enum class Transport : uint8_t { kUdp, kTcp };
  Transport transport = Transport::kUdp;
  // A trusted proxy's own query (PROXY v2 LOCAL: a load balancer's health check), served
  // as the proxy's address: answered and counted, but no subscriber, so not a protected user.
  bool proxy_local = false;
  UdpListener* udp = nullptr;
  TcpConnection* tcp = nullptr;
  // The client: what the ACL, rate limit, client groups, counters, logs and dnstap see.
  // Large enough for either family.
  sockaddr_in6 addr{};
  // The socket's peer: UDP replies go here. The client itself, or a trusted proxy.
  sockaddr_in6 peer{};
  // Wall-clock arrival of the query (ns since the epoch), stamped only while dnstap logs,
  // so that an answer sent later from an in-flight waiter still knows its query's time.
  uint64_t received_ns = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  const sockaddr* peer_sa() const { return reinterpret_cast<const sockaddr*>(&peer); }
  // The socket's peer, which is the client until a PROXY header says otherwise.
  void set_addr(const sockaddr* sa) {
    copy(addr, sa);
    copy(peer, sa);
  }
  // The client named by a PROXY header; replies still go to the peer.
  void set_client(const sockaddr* sa) { copy(addr, sa); }

  bool is_tcp() const { return transport == Transport::kTcp; }

 private:
  static void copy(sockaddr_in6& to, const sockaddr* sa) {
    std::memcpy(&to, sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  }
};

// Receives every complete query a listener reads, with where to send the reply.
class QuerySink {
 public:
  virtual ~QuerySink() = default;
  virtual void on_query(const uint8_t* msg, size_t len, const ClientEndpoint& from) = 0;
};

}  // namespace sinkhole::net
