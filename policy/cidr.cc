// SPDX-License-Identifier: MIT
#include "policy/cidr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cstring>

namespace sinkhole::policy {

namespace {

// Zeroes every bit past `prefix` (bits counted from the most significant bit of addr[0]).
void mask_host_bits(std::array<uint8_t, 16>& addr, int prefix) {
  for (int byte = 0; byte < 16; ++byte) {
    const int keep = prefix - byte * 8;  // bits of this byte that belong to the network
    if (keep >= 8) continue;
    addr[byte] = keep <= 0 ? 0 : static_cast<uint8_t>(addr[byte] & (0xFF << (8 - keep)));
  }
}

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

}  // namespace

int address_bits(int family) {
  if (family == AF_INET) return 32;
  if (family == AF_INET6) return 128;
  return 0;
}

bool host_bits_zero(const Cidr& cidr) {
  std::array<uint8_t, 16> masked = cidr.addr;
  mask_host_bits(masked, cidr.prefix);
  return masked == cidr.addr;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
  if (text.empty()) {
    fail(error, "empty CIDR: expected an address or address/length");
    return std::nullopt;
  }
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  if (address.empty()) {
    fail(error, fmt::format("bad CIDR \"{}\": missing address before '/'", text));
    return std::nullopt;
  }

  // inet_pton wants a NUL-terminated string; the longest valid text form is
  // INET6_ADDRSTRLEN - 1 characters ("ffff:…:255.255.255.255"), so anything longer is invalid.
  char buffer[INET6_ADDRSTRLEN];
  Cidr cidr;
  // An embedded NUL would end the text early for inet_pton and let "10.0.0.0\0junk" through.
  if (address.size() < sizeof buffer && address.find('\0') == std::string_view::npos) {
    std::memcpy(buffer, address.data(), address.size());
    buffer[address.size()] = '\0';
    // The family is decided by the text: a ':' can only be IPv6. inet_pton rejects leading
    // zeros in IPv4 octets and BSD shorthands ("10.1"), which is what a policy file wants.
    cidr.family = address.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
    if (inet_pton(cidr.family, buffer, cidr.addr.data()) != 1) cidr.family = 0;
  }
  if (cidr.family == 0) {
    fail(error,
         fmt::format("bad CIDR \"{}\": \"{}\" is not an IPv4 or IPv6 address", text, address));
    return std::nullopt;
  }

  const int max_prefix = address_bits(cidr.family);
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    if (length.empty()) {
      fail(error, fmt::format("bad CIDR \"{}\": missing prefix length after '/'", text));
      return std::nullopt;
    }
    // At most three digits: the longest valid length is 128, and this keeps the sum small.
    bool digits = length.size() <= 3;
    prefix = 0;
    for (char c : length) {
      // Stop at the first bad character: summing on would overflow on a long length.
      if (!digits || c < '0' || c > '9') {
        digits = false;
        break;
      }
      prefix = prefix * 10 + (c - '0');
    }
    if (!digits) {
      fail(error, fmt::format("bad CIDR \"{}\": prefix length \"{}\" is not a number from 0 to {}",
                              text, length, max_prefix));
      return std::nullopt;
    }
    if (prefix > max_prefix) {
      fail(error, fmt::format("bad CIDR \"{}\": prefix length {} is longer than the {} bits of an "
                              "{} address",
                              text, prefix, max_prefix, cidr.family == AF_INET ? "IPv4" : "IPv6"));
      return std::nullopt;
    }
  }
  cidr.prefix = static_cast<uint8_t>(prefix);

  if (!host_bits_zero(cidr)) {
    Cidr network = cidr;
    mask_host_bits(network.addr, prefix);
    fail(error,
         fmt::format("bad CIDR \"{}\": host bits set: did you mean {}?", text, to_string(network)));
    return std::nullopt;
  }
  return cidr;
}

std::string to_string(const Cidr& cidr) {
  char buffer[INET6_ADDRSTRLEN];
  if (address_bits(cidr.family) == 0 ||
      inet_ntop(cidr.family, cidr.addr.data(), buffer, sizeof buffer) == nullptr) {
    return fmt::format("<family {}>/{}", cidr.family, cidr.prefix);
  }
  return fmt::format("{}/{}", buffer, cidr.prefix);
}

}  // namespace sinkhole::policy
