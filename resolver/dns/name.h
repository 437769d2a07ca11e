// SPDX-License-Identifier: MIT
// Domain names on the wire: a bounds-checked walker for (possibly compressed) names and
// NameKey, the lower-cased, uncompressed form used as a lookup key by the in-flight
// table (and later the cache and the matcher). Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "resolver/dns/wire.h"

namespace sinkhole::dns {

// Why a name could not be read; each class maps to its own malformed-packet counter.
enum class NameError : uint8_t {
  kNone,
  kPastEnd,         // a label or pointer runs past the message end
  kBadLabelType,    // 0x40 / 0x80 label types (RFC 6891 §5 retired them)
  kPointerLoop,     // a pointer to itself, into its own name, or back to one followed
  kForwardPointer,  // a pointer past its own position, or into the header
  kPointerPastEnd,  // a pointer target beyond the message
  kTooLong,         // more than 255 octets once expanded
};

const char* to_string(NameError e);

struct NameWalk {
  NameError error = NameError::kNone;
  size_t end = 0;       // offset just past the name where it sits (after the first pointer)
  size_t wire_len = 0;  // expanded length including the root label
  bool compressed = false;
};

// Walks the name at `off` in `msg[0..len)`, following backward compression pointers when
// `allow_pointers` is set. When `out` is given (kMaxNameWire bytes), the expanded name is
// written to it, lower-cased if `lower` is set.
NameWalk walk_name(const uint8_t* msg, size_t len, size_t off, bool allow_pointers,
                   uint8_t* out = nullptr, bool lower = false) noexcept;

// Case-insensitive comparison of two uncompressed wire names of equal length.
bool wire_names_equal_ci(const uint8_t* a, const uint8_t* b, size_t len) noexcept;

// Lower-cased uncompressed wire name in a fixed buffer, so keys never touch the heap.
class NameKey {
 public:
  NameKey() = default;
  // Copies `len` bytes of an uncompressed wire name, lower-casing them.
  void assign_lower(const uint8_t* wire, size_t len) noexcept;
  const uint8_t* data() const { return bytes_; }
  size_t size() const { return len_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_), len_}; }

 private:
  uint8_t bytes_[kMaxNameWire] = {};
  uint8_t len_ = 0;
};

// Presentation form ("www.example.com.") for logs and tests; allocates.
std::string wire_to_text(const uint8_t* wire, size_t len);
// Parses presentation form into wire form; returns 0 on error. For tests and config.
size_t text_to_wire(std::string_view text, uint8_t* out /* kMaxNameWire */);

}  // namespace sinkhole::dns
