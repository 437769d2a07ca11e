// SPDX-License-Identifier: MIT
// PacketWriter: builds DNS messages byte by byte for the unit tests, so every test spells out
// the exact wire bytes it feeds the code under test (including broken ones). Names are
// encoded here, not with dns::text_to_wire, so a bug there cannot hide a bug elsewhere.
// Header-only; shared by the dns and upstream test binaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sinkhole::test {

// "www.Example.com." → \3www\7Example\3com\0 ("." → \0). No escapes: tests use plain labels.
inline std::vector<uint8_t> wire_name(std::string_view text) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    if (dot > start) {
      out.push_back(static_cast<uint8_t>(dot - start));
      out.insert(out.end(), text.begin() + start, text.begin() + dot);
    }
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

class PacketWriter {
 public:
  PacketWriter& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  PacketWriter& u16(uint16_t v) {
    return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v));
  }
  PacketWriter& u32(uint32_t v) {
    return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v));
  }
  PacketWriter& raw(std::initializer_list<uint8_t> bytes) {
    b_.insert(b_.end(), bytes);
    return *this;
  }
  PacketWriter& raw(const std::vector<uint8_t>& bytes) {
    b_.insert(b_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  PacketWriter& str(std::string_view s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  PacketWriter& name(std::string_view text) { return raw(wire_name(text)); }
  PacketWriter& pointer(uint16_t target) { return u16(static_cast<uint16_t>(0xC000 | target)); }
  PacketWriter& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                       uint16_t ar) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  PacketWriter& question(std::string_view qname, uint16_t qtype, uint16_t qclass = 1) {
    return name(qname).u16(qtype).u16(qclass);
  }
  // Type, class, TTL, then rdata with its length; the owner name is written by the caller.
  PacketWriter& rr_tail(uint16_t type, uint16_t rclass, uint32_t ttl,
                        const std::vector<uint8_t>& rdata) {
    u16(type).u16(rclass).u32(ttl).u16(static_cast<uint16_t>(rdata.size()));
    return raw(rdata);
  }
  // An OPT record with a root owner: payload in the class, ext-rcode/version/DO in the TTL.
  PacketWriter& opt(uint16_t payload, uint8_t ext_rcode = 0, uint8_t version = 0,
                    bool do_bit = false, const std::vector<uint8_t>& rdata = {}) {
    u8(0);
    const uint32_t ttl =
        uint32_t{ext_rcode} << 24 | uint32_t{version} << 16 | (do_bit ? 0x8000u : 0u);
    return rr_tail(41, payload, ttl, rdata);
  }
  // Overwrites a 16-bit field already written (e.g. a count fixed up afterwards).
  PacketWriter& set_u16(size_t off, uint16_t v) {
    b_[off] = static_cast<uint8_t>(v >> 8);
    b_[off + 1] = static_cast<uint8_t>(v);
    return *this;
  }

  size_t size() const { return b_.size(); }
  const uint8_t* data() const { return b_.data(); }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// An EDNS option: code, length, data.
inline std::vector<uint8_t> edns_option(uint16_t code, std::string_view data) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code),
                              static_cast<uint8_t>(data.size() >> 8),
                              static_cast<uint8_t>(data.size())};
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A heap copy of exactly `len` bytes, so that AddressSanitizer reports any read past it.
inline std::unique_ptr<uint8_t[]> exact_copy(const uint8_t* p, size_t len) {
  std::unique_ptr<uint8_t[]> out(new uint8_t[len == 0 ? 1 : len]);
  for (size_t i = 0; i < len; ++i) out[i] = p[i];
  return out;
}

inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

}  // namespace sinkhole::test
