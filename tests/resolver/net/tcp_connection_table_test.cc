// SPDX-License-Identifier: MIT
#include "resolver/net/tcp_connection_table.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

namespace {

using sinkhole::net::ClientCounts;
using sinkhole::net::ClientKey;

sockaddr_in v4(const char* a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, a, &s.sin_addr);
  return s;
}

sockaddr_in6 v6(const char* a, uint16_t port) {
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(port);
  inet_pton(AF_INET6, a, &s.sin6_addr);
  return s;
}

template <class S>
ClientKey key(const S& s) {
  return ClientKey::of(reinterpret_cast<const sockaddr*>(&s));
}

}  // namespace

TEST_CASE("ClientKey is the address without the port, family included") {
  CHECK(key(v4("192.0.2.1", 1000)) == key(v4("192.0.2.1", 2000)));
  CHECK_FALSE(key(v4("192.0.2.1", 1000)) == key(v4("192.0.2.2", 1000)));
  CHECK(key(v6("2001:db8::1", 53)) == key(v6("2001:db8::1", 54)));
  CHECK_FALSE(key(v6("2001:db8::1", 53)) == key(v6("2001:db8::2", 53)));
  // The same 4 leading bytes in another family are another client.
  CHECK_FALSE(key(v4("32.1.13.184", 1)) == key(v6("2001:db8::", 1)));
}

TEST_CASE("ClientCounts counts per address and forgets an address at zero") {
  ClientCounts c;
  const auto a = key(v4("198.51.100.7", 1));
  const auto b = key(v6("2001:db8::7", 1));
  CHECK(c.count(a) == 0);
  c.add(a);
  c.add(key(v4("198.51.100.7", 2)));
  c.add(b);
  CHECK(c.count(a) == 2);
  CHECK(c.count(b) == 1);
  CHECK(c.addresses() == 2);
  c.remove(a);
  CHECK(c.count(a) == 1);
  c.remove(a);
  c.remove(a);  // one too many: harmless
  CHECK(c.count(a) == 0);
  CHECK(c.addresses() == 1);  // bounded by the addresses with a connection open
  c.remove(b);
  CHECK(c.addresses() == 0);
}
