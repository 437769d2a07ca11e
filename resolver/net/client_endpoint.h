// SPDX-License-Identifier: MIT
// Where a reply goes: a UDP listener plus the client's address, or a TCP connection.
// Plain data, copied into in-flight waiters; a TCP connection stays alive while a waiter
// holds it (TcpConnection::retain/release).
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
  UdpListener* udp = nullptr;
  TcpConnection* tcp = nullptr;
  sockaddr_in6 addr{};  // large enough for either family; UDP replies go here
  // Wall-clock arrival of the query (ns since the epoch), stamped only while dnstap logs,
  // so that an answer sent later from an in-flight waiter still knows its query's time.
  uint64_t received_ns = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  void set_addr(const sockaddr* sa) {
    std::memcpy(&addr, sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  }
  bool is_tcp() const { return transport == Transport::kTcp; }
};

// Receives every complete query a listener reads, with where to send the reply.
class QuerySink {
 public:
  virtual ~QuerySink() = default;
  virtual void on_query(const uint8_t* msg, size_t len, const ClientEndpoint& from) = 0;
};

}  // namespace sinkhole::net
