// SPDX-License-Identifier: MIT
#include "resolver/config/socket_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace sinkhole::config {

namespace {
std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}
}  // namespace

std::optional<SocketAddress> SocketAddress::parse(std::string_view text, uint16_t default_port) {
  std::string host;
  uint16_t port = default_port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      auto p = parse_port(rest.substr(1));
      if (!p) return std::nullopt;
      port = *p;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = std::string(text.substr(0, colon));
    auto p = parse_port(text.substr(colon + 1));
    if (!p) return std::nullopt;
    port = *p;
  } else {
    host = std::string(text);  // IPv4 without port, or IPv6 without brackets
  }
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return a;
  }
  // A zone index (fe80::1%eth0, as resolv.conf may give) selects the interface of a
  // link-local address; without it the kernel cannot route to it.
  uint32_t scope = 0;
  if (const size_t pct = host.find('%'); pct != std::string::npos) {
    const std::string zone = host.substr(pct + 1);
    host.resize(pct);
    scope = if_nametoindex(zone.c_str());
    if (scope == 0) {
      auto [p, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), scope);
      if (ec != std::errc() || p != zone.data() + zone.size() || scope == 0) return std::nullopt;
    }
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_scope_id = scope;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return a;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa) {
  SocketAddress a;
  if (sa->sa_family == AF_INET)
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
  else if (sa->sa_family == AF_INET6)
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
  return a;
}

socklen_t SocketAddress::sa_len() const {
  return storage_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof buf);
    // fmt rather than std::string operator+: GCC 12 at -O3 reports a false -Wrestrict
    // inside the inlined operator+ chain (a Release build failed on it).
    if (const uint32_t scope = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_scope_id) {
      char ifname[IF_NAMESIZE] = {};
      if (if_indextoname(scope, ifname)) return fmt::format("[{}%{}]:{}", buf, ifname, port());
      return fmt::format("[{}%{}]:{}", buf, scope, port());
    }
    return fmt::format("[{}]:{}", buf, port());
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  return fmt::format("{}:{}", buf, port());
}

bool SocketAddress::same_endpoint(const sockaddr* other) const {
  if (other->sa_family != storage_.ss_family) return false;
  if (other->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in*>(other);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (other->sa_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in6*>(other);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

}  // namespace sinkhole::config
