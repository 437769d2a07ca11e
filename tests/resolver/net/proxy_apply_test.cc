// SPDX-License-Identifier: MIT
// The one function that applies a PROXY v2 header to a query's endpoint (UDP and TCP both
// call it): who the client becomes, how many bytes to skip, and that a header that is not
// whole and valid changes nothing.
#include "resolver/net/proxy_apply.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "resolver/net/proxy_header.h"
#include "tests/resolver/net/proxy_v2_bytes.h"

namespace net = sinkhole::net;

namespace {

using sinkhole::test::proxy_v2;

// 192.0.2.7:5300 → 198.51.100.1:53
std::vector<uint8_t> inet_block() {
  return sinkhole::test::inet_addresses("192.0.2.7", 5300, "198.51.100.1", 53);
}

// An endpoint as a listener fills it: the proxy 127.0.0.9:4000 is both peer and client.
net::ClientEndpoint from_proxy() {
  sockaddr_in p{};
  p.sin_family = AF_INET;
  p.sin_port = htons(4000);
  inet_pton(AF_INET, "127.0.0.9", &p.sin_addr);
  net::ClientEndpoint e;
  e.set_addr(reinterpret_cast<const sockaddr*>(&p));
  return e;
}

std::string addr_of(const sockaddr_in6& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
  if (in->sin_family == AF_INET) inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
  if (sa.sin6_family == AF_INET6) inet_ntop(AF_INET6, &sa.sin6_addr, buf, sizeof buf);
  return buf;
}

}  // namespace

TEST_CASE("PROXY over IPv4: the header's source is the client, replies still go to the proxy") {
  auto h = proxy_v2(0x21, 0x12, inet_block());
  h.insert(h.end(), {0xAB, 0xCD});  // the DNS message after it
  net::ClientEndpoint e = from_proxy();
  size_t skip = 0;
  REQUIRE(net::apply_proxy_header(h.data(), h.size(), e, skip) == net::ProxyApplied::kApplied);
  CHECK(skip == 16 + inet_block().size());
  CHECK(addr_of(e.addr) == "192.0.2.7");
  CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(&e.addr)->sin_port) == 5300);
  CHECK(addr_of(e.peer) == "127.0.0.9");
  CHECK_FALSE(e.proxy_local);
}

TEST_CASE("PROXY over IPv6: the client is the IPv6 source") {
  const auto h = proxy_v2(0x21, 0x22, sinkhole::test::inet6_addresses("2001:db8::42", 0, "::", 53));
  net::ClientEndpoint e = from_proxy();
  size_t skip = 0;
  REQUIRE(net::apply_proxy_header(h.data(), h.size(), e, skip) == net::ProxyApplied::kApplied);
  CHECK(skip == h.size());
  CHECK(addr_of(e.addr) == "2001:db8::42");
  CHECK(addr_of(e.peer) == "127.0.0.9");
}

TEST_CASE("LOCAL, UNSPEC: the proxy stays the client, marked proxy_local") {
  for (const auto& h : {proxy_v2(0x20, 0x00, {}), proxy_v2(0x21, 0x00, {})}) {
    net::ClientEndpoint e = from_proxy();
    size_t skip = 0;
    REQUIRE(net::apply_proxy_header(h.data(), h.size(), e, skip) == net::ProxyApplied::kApplied);
    CHECK(skip == 16);
    CHECK(e.proxy_local);
    CHECK(addr_of(e.addr) == "127.0.0.9");
  }
}

TEST_CASE("no header, a prefix of one, a broken one: nothing applied") {
  const auto whole = proxy_v2(0x21, 0x12, inet_block());
  const std::vector<uint8_t> dns = {0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  const auto v1 = proxy_v2(0x11, 0x12, inet_block());
  struct Case {
    std::vector<uint8_t> bytes;
    net::ProxyApplied want;
  };
  const Case cases[] = {
      {dns, net::ProxyApplied::kMissing},
      {std::vector<uint8_t>(whole.begin(), whole.begin() + 20), net::ProxyApplied::kIncomplete},
      {v1, net::ProxyApplied::kMalformed},
      {proxy_v2(0x22, 0x12, inet_block()), net::ProxyApplied::kMalformed},  // command 2
  };
  for (const auto& c : cases) {
    net::ClientEndpoint e = from_proxy();
    size_t skip = 99;
    CHECK(net::apply_proxy_header(c.bytes.data(), c.bytes.size(), e, skip) == c.want);
    CHECK(skip == 99);
    CHECK_FALSE(e.proxy_local);
    CHECK(addr_of(e.addr) == "127.0.0.9");
  }
}
