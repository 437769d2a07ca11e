// SPDX-License-Identifier: MIT
// Cidr: one IPv4 or IPv6 network prefix as written in a policy's client list, and its parser.
//
// Policy files are written by hand, so the parser is strict: a prefix with host bits set
// ("10.1.2.3/8") is rejected with the network the operator probably meant, because silently
// masking it would also hide a typo such as "10.1.2.0/8" for "10.1.2.0/28". A bare address is a
// host route (/32 or /128). Zone ids ("fe80::1%eth0"), surrounding spaces and the old BSD
// shorthands ("10/8", "10.1") are rejected; the YAML loader trims and reports the position.
//
// Load path only (the snapshot builder); pure functions, no shared state, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sinkhole::policy {

struct Cidr {
  int family = 0;                  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network byte order; IPv4 uses [0..4); host bits zero
  uint8_t prefix = 0;              // 0..32 or 0..128

  bool operator==(const Cidr&) const = default;
};

// Parses "a.b.c.d/len", "a.b.c.d", "ipv6/len" or "ipv6". On failure returns nullopt and, when
// `error` is not null, sets it to a one-line message quoting the text.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error);

// "10.0.0.0/8", "2001:db8::/32": always with the length, so parse_cidr(to_string(c)) == c.
std::string to_string(const Cidr& cidr);

// Number of bits in an address of `family` (32 or 128), 0 for an unknown family.
int address_bits(int family);

// True when every bit of `cidr.addr` past `cidr.prefix` is zero.
bool host_bits_zero(const Cidr& cidr);

}  // namespace sinkhole::policy
