// SPDX-License-Identifier: MIT
// SocketAddress: parsing "1.2.3.4", "1.2.3.4:53", "[::1]:5353", "::1", printing back, and
// rejecting everything else; endpoint comparison against raw sockaddrs.
#include "resolver/config/socket_address.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <net/if.h>

#include <string>

using sinkhole::config::SocketAddress;

TEST_CASE("SocketAddress parses IPv4 and IPv6, with and without a port") {
  struct Case {
    std::string text;
    int family;
    uint16_t port;
    std::string printed;
  } cases[] = {
      {"1.2.3.4", AF_INET, 53, "1.2.3.4:53"},
      {"1.2.3.4:53", AF_INET, 53, "1.2.3.4:53"},
      {"127.0.0.1:5353", AF_INET, 5353, "127.0.0.1:5353"},
      {"192.0.2.1:65535", AF_INET, 65535, "192.0.2.1:65535"},
      {"[::1]:5353", AF_INET6, 5353, "[::1]:5353"},
      {"[::1]", AF_INET6, 53, "[::1]:53"},
      {"::1", AF_INET6, 53, "[::1]:53"},
      {"2001:DB8::53", AF_INET6, 53, "[2001:db8::53]:53"},
      {"[2001:db8:0:0:0:0:0:1]:853", AF_INET6, 853, "[2001:db8::1]:853"},
      {"::ffff:192.0.2.1", AF_INET6, 53, "[::ffff:192.0.2.1]:53"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto a = SocketAddress::parse(c.text, 53);
    REQUIRE(a.has_value());
    CHECK(a->family() == c.family);
    CHECK(a->port() == c.port);
    CHECK(a->to_string() == c.printed);
    CHECK(a->sa_len() == (c.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    // What it prints parses back to the same endpoint.
    const auto again = SocketAddress::parse(a->to_string(), 1);
    REQUIRE(again.has_value());
    CHECK(*again == *a);
  }
}

TEST_CASE("SocketAddress uses the caller's default port") {
  CHECK(SocketAddress::parse("1.2.3.4", 5353)->port() == 5353);
  CHECK(SocketAddress::parse("::1", 853)->port() == 853);
  CHECK(SocketAddress::parse("1.2.3.4:54", 5353)->port() == 54);
}

TEST_CASE("SocketAddress rejects bad addresses and ports") {
  const char* bad[] = {
      "",
      "localhost",
      "1.2.3",
      "256.1.1.1",
      "1.2.3.4:",
      "1.2.3.4:0",
      "1.2.3.4:65536",
      "1.2.3.4:53x",
      "1.2.3.4:-1",
      "1.2.3.4: 53",
      "[::1",
      "[::1]53",
      "[::1]:",
      "[::1]:0",
      "[::1]:70000",
      "::1]:53",
      "[fe80::1%no-such-if]:53",
      "1.2.3.4:53:54",
      "[]:53",
      " 1.2.3.4",
  };
  for (const char* text : bad) {
    INFO("'" << std::string(text) << "'");
    CHECK_FALSE(SocketAddress::parse(text, 53).has_value());
  }
}

TEST_CASE("SocketAddress compares endpoints by family, address and port") {
  const auto a = *SocketAddress::parse("192.0.2.1:53", 53);
  sockaddr_in same{};
  same.sin_family = AF_INET;
  same.sin_port = htons(53);
  inet_pton(AF_INET, "192.0.2.1", &same.sin_addr);
  CHECK(a.same_endpoint(reinterpret_cast<const sockaddr*>(&same)));
  sockaddr_in other_port = same;
  other_port.sin_port = htons(54);
  CHECK_FALSE(a.same_endpoint(reinterpret_cast<const sockaddr*>(&other_port)));
  sockaddr_in other_addr = same;
  inet_pton(AF_INET, "192.0.2.2", &other_addr.sin_addr);
  CHECK_FALSE(a.same_endpoint(reinterpret_cast<const sockaddr*>(&other_addr)));

  const auto v6 = *SocketAddress::parse("[::ffff:192.0.2.1]:53", 53);
  CHECK_FALSE(v6 == a);  // a mapped address is another family
  CHECK_FALSE(a == *SocketAddress::parse("[::1]:53", 53));

  const SocketAddress copy = SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&same));
  CHECK(copy == a);
  CHECK(copy.to_string() == "192.0.2.1:53");

  const auto six = *SocketAddress::parse("[2001:db8::1]:5353", 53);
  const SocketAddress six_copy = SocketAddress::from_sockaddr(six.sa());
  CHECK(six_copy == six);
  CHECK(six_copy.to_string() == "[2001:db8::1]:5353");
}

TEST_CASE("SocketAddress keeps the zone index of a link-local IPv6 address") {
  const auto by_name = SocketAddress::parse("[fe80::1%lo]:53", 53);
  REQUIRE(by_name.has_value());
  CHECK(reinterpret_cast<const sockaddr_in6*>(by_name->sa())->sin6_scope_id ==
        if_nametoindex("lo"));
  CHECK(by_name->to_string() == "[fe80::1%lo]:53");
  const auto by_number = SocketAddress::parse("[fe80::1%1]:53", 53);
  REQUIRE(by_number.has_value());
  CHECK(reinterpret_cast<const sockaddr_in6*>(by_number->sa())->sin6_scope_id == 1);
  CHECK_FALSE(SocketAddress::parse("[fe80::1%0]:53", 53).has_value());
}
