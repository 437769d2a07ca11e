// SPDX-License-Identifier: MIT
#include "resolver/net/proxy_header.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/resolver/net/proxy_v2_bytes.h"

namespace {

using sinkhole::net::has_proxy_signature;
using sinkhole::net::kProxyV2Signature;
using sinkhole::net::parse_proxy_header;
using sinkhole::net::ProxyHeader;
using Status = ProxyHeader::Status;

using sinkhole::test::proxy_v2;

std::vector<uint8_t> inet_block() {  // 192.0.2.7:5300 → 198.51.100.1:53
  return sinkhole::test::inet_addresses("192.0.2.7", 5300, "198.51.100.1", 53);
}

std::vector<uint8_t> inet6_block() {  // [2001:db8::42]:40000 → [2001:db8::1]:53
  return sinkhole::test::inet6_addresses("2001:db8::42", 40000, "2001:db8::1", 53);
}

ProxyHeader parse(const std::vector<uint8_t>& v) {
  return parse_proxy_header(v.data(), v.size());
}

}  // namespace

TEST_CASE("PROXY v2: an IPv4 client and its port; the bytes after the header are not read") {
  auto h = proxy_v2(0x21, 0x12, inet_block());  // PROXY, INET/DGRAM
  h.insert(h.end(), {0xAB, 0xCD, 0x01});        // a DNS message follows
  const ProxyHeader p = parse(h);
  REQUIRE(p.status == Status::kOk);
  CHECK(p.command == ProxyHeader::Command::kProxy);
  CHECK(p.family == AF_INET);
  CHECK(p.transport == 2);
  CHECK(p.length == 16 + 12);
  REQUIRE(p.has_addresses());
  const auto* src = reinterpret_cast<const sockaddr_in*>(&p.source);
  CHECK(src->sin_family == AF_INET);
  CHECK(ntohs(src->sin_port) == 5300);
  char text[INET6_ADDRSTRLEN];
  CHECK(std::string(inet_ntop(AF_INET, &src->sin_addr, text, sizeof text)) == "192.0.2.7");
  const auto* dst = reinterpret_cast<const sockaddr_in*>(&p.dest);
  CHECK(ntohs(dst->sin_port) == 53);
}

TEST_CASE("PROXY v2: an IPv6 client over TCP") {
  const ProxyHeader p = parse(proxy_v2(0x21, 0x21, inet6_block()));
  REQUIRE(p.has_addresses());
  CHECK(p.family == AF_INET6);
  CHECK(p.transport == 1);
  CHECK(p.length == 16 + 36);
  char text[INET6_ADDRSTRLEN];
  CHECK(std::string(inet_ntop(AF_INET6, &p.source.sin6_addr, text, sizeof text)) == "2001:db8::42");
  CHECK(ntohs(p.source.sin6_port) == 40000);
}

TEST_CASE("PROXY v2: LOCAL (a health check) carries no client, with or without addresses") {
  ProxyHeader p = parse(proxy_v2(0x20, 0x00, {}));
  REQUIRE(p.ok());
  CHECK(p.command == ProxyHeader::Command::kLocal);
  CHECK(p.length == 16);
  CHECK_FALSE(p.has_addresses());
  p = parse(proxy_v2(0x20, 0x12, inet_block()));
  REQUIRE(p.ok());
  CHECK_FALSE(p.has_addresses());
  CHECK(p.length == 28);
}

TEST_CASE("PROXY v2: TLVs are skipped, and must lie inside the header") {
  auto payload = inet_block();
  payload.insert(payload.end(), {0x04, 0x00, 0x03, 'a', 'b', 'c'});  // NOOP, 3 bytes
  payload.insert(payload.end(), {0x02, 0x00, 0x00});                 // AUTHORITY, empty
  ProxyHeader p = parse(proxy_v2(0x21, 0x12, payload));
  REQUIRE(p.has_addresses());
  CHECK(p.length == 16 + payload.size());

  auto overlong = inet_block();
  overlong.insert(overlong.end(), {0x04, 0x00, 0x09, 'a'});  // says 9, has 1
  CHECK(parse(proxy_v2(0x21, 0x12, overlong)).status == Status::kMalformed);
  auto stub = inet_block();
  stub.insert(stub.end(), {0x04, 0x00});  // a TLV header cut short
  CHECK(parse(proxy_v2(0x21, 0x12, stub)).status == Status::kMalformed);
}

TEST_CASE("PROXY v2: UNSPEC and UNIX are understood but carry no IP client") {
  ProxyHeader p = parse(proxy_v2(0x21, 0x00, {}));
  REQUIRE(p.ok());
  CHECK(p.family == AF_UNSPEC);
  CHECK_FALSE(p.has_addresses());
  p = parse(proxy_v2(0x21, 0x31, std::vector<uint8_t>(216, 'x')));
  REQUIRE(p.ok());
  CHECK(p.family == AF_UNIX);
  CHECK_FALSE(p.has_addresses());
  CHECK(parse(proxy_v2(0x21, 0x31, std::vector<uint8_t>(100, 'x'))).status == Status::kMalformed);
}

TEST_CASE("PROXY v2: a plain DNS message has no signature; a prefix is incomplete") {
  const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  CHECK(parse_proxy_header(dns, sizeof dns).status == Status::kNoSignature);
  CHECK_FALSE(has_proxy_signature(dns, sizeof dns));
  const auto h = proxy_v2(0x21, 0x12, inet_block());
  CHECK(has_proxy_signature(h.data(), h.size()));
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{11}, size_t{12}, size_t{15}, size_t{16}, h.size() - 1})
    CHECK_MESSAGE(parse_proxy_header(h.data(), n).status == Status::kIncomplete, n);
  CHECK_FALSE(has_proxy_signature(h.data(), 11));
  auto bad = h;
  bad[11] = 'X';  // the signature's last byte
  CHECK(parse(bad).status == Status::kNoSignature);
}

TEST_CASE("PROXY v2: bad version, command, family, transport; a length too large") {
  CHECK(parse(proxy_v2(0x11, 0x12, inet_block())).status == Status::kUnsupported);  // v1
  CHECK(parse(proxy_v2(0x31, 0x12, inet_block())).status == Status::kUnsupported);  // v3
  CHECK(parse(proxy_v2(0x22, 0x12, inet_block())).status == Status::kMalformed);    // command 2
  CHECK(parse(proxy_v2(0x21, 0x42, inet_block())).status == Status::kUnsupported);  // family 4
  CHECK(parse(proxy_v2(0x21, 0x13, inet_block())).status == Status::kUnsupported);  // proto 3
  // Short of the family's address block.
  CHECK(parse(proxy_v2(0x21, 0x12, {1, 2, 3, 4})).status == Status::kMalformed);
  CHECK(parse(proxy_v2(0x21, 0x22, inet_block())).status == Status::kMalformed);
  // A length over the bound is refused from the fixed part alone, without its bytes.
  auto huge = proxy_v2(0x21, 0x12, inet_block());
  huge[14] = 0xFF;
  huge[15] = 0xFF;
  CHECK(parse_proxy_header(huge.data(), 16).status == Status::kMalformed);
  CHECK(parse(huge).status == Status::kMalformed);
  // At the bound (512: the addresses, then one NOOP TLV of 497 bytes): fine; 513: not,
  // unless the caller allows more.
  auto padded = [](size_t total) {
    auto b = inet_block();
    const size_t tlv = total - b.size() - 3;
    b.insert(b.end(), {0x04, static_cast<uint8_t>(tlv >> 8), static_cast<uint8_t>(tlv)});
    b.resize(total, 0);
    return b;
  };
  CHECK(parse(proxy_v2(0x21, 0x12, padded(512))).ok());
  const auto over = proxy_v2(0x21, 0x12, padded(513));
  CHECK(parse(over).status == Status::kMalformed);
  CHECK(parse_proxy_header(over.data(), over.size(), 1024).ok());
}
