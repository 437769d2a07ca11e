// SPDX-License-Identifier: MIT
// DNS wire-format constants and big-endian byte access (RFC 1035 §4).
// Header-only, no allocation, no libuv: usable from every box and from tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sinkhole::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;  // RFC 1035 §2.3.4, on the wire
inline constexpr size_t kMaxLabel = 63;
inline constexpr size_t kMaxUdpNoEdns = 512;  // RFC 1035 §4.2.1
inline constexpr size_t kMaxMessage = 65535;  // TCP length prefix limit
inline constexpr size_t kOptFixedSize = 11;   // root name + type + class + ttl + rdlen

enum class Rcode : uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,  // extended: upper 8 bits travel in the OPT TTL
};

namespace rrtype {
inline constexpr uint16_t kA = 1;
inline constexpr uint16_t kNs = 2;
inline constexpr uint16_t kCname = 5;
inline constexpr uint16_t kSoa = 6;
inline constexpr uint16_t kHinfo = 13;
inline constexpr uint16_t kMx = 15;
inline constexpr uint16_t kTxt = 16;
inline constexpr uint16_t kAaaa = 28;
inline constexpr uint16_t kDname = 39;
inline constexpr uint16_t kOpt = 41;
inline constexpr uint16_t kRrsig = 46;
inline constexpr uint16_t kHttps = 65;
inline constexpr uint16_t kTkey = 249;
inline constexpr uint16_t kTsig = 250;
inline constexpr uint16_t kIxfr = 251;
inline constexpr uint16_t kAxfr = 252;
inline constexpr uint16_t kMailb = 253;
inline constexpr uint16_t kMaila = 254;
inline constexpr uint16_t kAny = 255;

// Types that name no data a resolver could look up (RFC 6895 §3.1): 0 (reserved), OPT and
// the meta/Q range 128–254 (TKEY, TSIG, MAILA, MAILB...) apart from the zone transfers,
// which are refused on their own, and ANY, which RFC 8482 answers.
constexpr bool is_meta_qtype(uint16_t t) {
  return t == 0 || t == kOpt || (t >= 128 && t <= 254 && t != kIxfr && t != kAxfr);
}
}  // namespace rrtype

namespace rrclass {
inline constexpr uint16_t kIn = 1;
inline constexpr uint16_t kCh = 3;
}  // namespace rrclass

namespace flags {  // in the 16-bit flags word (bytes 2-3 of the header)
inline constexpr uint16_t kQr = 0x8000;
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr uint16_t kAa = 0x0400;
inline constexpr uint16_t kTc = 0x0200;
inline constexpr uint16_t kRd = 0x0100;
inline constexpr uint16_t kRa = 0x0080;
inline constexpr uint16_t kAd = 0x0020;
inline constexpr uint16_t kCd = 0x0010;
inline constexpr uint16_t kRcodeMask = 0x000f;
}  // namespace flags

inline constexpr uint32_t kEdnsDoBit = 0x8000;  // in the low 16 bits of the OPT TTL

inline uint16_t read_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t read_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void write_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Header field offsets.
inline constexpr size_t kOffId = 0;
inline constexpr size_t kOffFlags = 2;
inline constexpr size_t kOffQdCount = 4;
inline constexpr size_t kOffAnCount = 6;
inline constexpr size_t kOffNsCount = 8;
inline constexpr size_t kOffArCount = 10;

inline uint8_t ascii_lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

}  // namespace sinkhole::dns
