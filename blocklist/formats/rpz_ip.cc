// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz_ip.h"

#include <array>
#include <cstdint>
#include <optional>

namespace sinkhole::blocklist {
namespace {

constexpr size_t kMaxParts = 9;  // a length and 8 IPv6 words

std::optional<uint32_t> number(std::string_view s, int base, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (d < 0) return std::nullopt;
    v = v * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
  }
  return v;
}

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

bool host_bits_zero(const std::array<uint8_t, 16>& addr, int prefix) {
  for (int byte = 0; byte < 16; ++byte) {
    const int keep = prefix - byte * 8;
    if (keep >= 8) continue;
    const uint8_t mask = keep <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    if (addr[static_cast<size_t>(byte)] & ~mask) return false;
  }
  return true;
}

}  // namespace

bool decode_rpz_ip(std::string_view labels, IpTriggerEntry& out, std::string& error) {
  std::array<std::string_view, kMaxParts> parts;
  size_t n = 0;
  while (true) {
    if (n == kMaxParts) return fail(error, "rpz IP trigger: too many labels");
    const size_t dot = labels.find('.');
    parts[n++] = labels.substr(0, dot);
    if (dot == std::string_view::npos) break;
    labels.remove_prefix(dot + 1);
  }
  size_t zz = 0;
  for (size_t i = 1; i < n; ++i) zz += parts[i] == "zz";
  const bool v4 = n == 5 && zz == 0;
  const uint32_t bits = v4 ? 32 : 128;
  const auto prefix = number(parts[0], 10, 3);
  if (!prefix || *prefix < 1 || *prefix > bits)
    return fail(error, "rpz IP trigger: prefix length '" + std::string(parts[0]) +
                           "' is not a number from 1 to " + std::to_string(bits));
  out.addr = {};
  if (v4) {
    for (size_t i = 1; i < 5; ++i) {
      const auto octet = number(parts[i], 10, 3);
      if (!octet || *octet > 255)
        return fail(error, "rpz IP trigger: '" + std::string(parts[i]) + "' is not an octet");
      out.addr[4 - i] = static_cast<uint8_t>(*octet);
    }
  } else {
    if (n < 2) return fail(error, "rpz IP trigger: no address");
    if (zz > 1) return fail(error, "rpz IP trigger: 'zz' more than once");
    const size_t words = n - 1 - zz;
    if (zz == 0 ? words != 8 : words > 7)
      return fail(error, "rpz IP trigger: " + std::to_string(n - 1) +
                             " address labels: neither 4 IPv4 octets nor 8 IPv6 words");
    // Least significant word first: fill from the end, jumping over the zero run.
    size_t word = 8;
    for (size_t i = 1; i < n; ++i) {
      if (parts[i] == "zz") {
        word = n - 1 - i;  // words still to come fill the front
        continue;
      }
      const auto w = number(parts[i], 16, 4);
      if (!w)
        return fail(error, "rpz IP trigger: '" + std::string(parts[i]) + "' is not a hex word");
      --word;
      out.addr[2 * word] = static_cast<uint8_t>(*w >> 8);
      out.addr[2 * word + 1] = static_cast<uint8_t>(*w & 0xFF);
    }
  }
  if (!host_bits_zero(out.addr, static_cast<int>(*prefix)))
    return fail(error, "rpz IP trigger: address bits set past the prefix length /" +
                           std::to_string(*prefix));
  out.family = v4 ? 4 : 6;
  out.prefix = static_cast<uint8_t>(*prefix);
  return true;
}

}  // namespace sinkhole::blocklist
