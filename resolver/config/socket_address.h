// SPDX-License-Identifier: MIT
// SocketAddress: an IPv4 or IPv6 address with a port, parsed from "1.2.3.4:53",
// "[::1]:53", a bare address (default port), and printed back the same way.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sinkhole::config {

class SocketAddress {
 public:
  SocketAddress() = default;
  static std::optional<SocketAddress> parse(std::string_view text, uint16_t default_port);
  static SocketAddress from_sockaddr(const sockaddr* sa);

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sa_len() const;
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  std::string to_string() const;
  // Same family, address and port.
  bool same_endpoint(const sockaddr* other) const;
  bool operator==(const SocketAddress& o) const { return same_endpoint(o.sa()); }

 private:
  sockaddr_storage storage_{};
};

}  // namespace sinkhole::config
