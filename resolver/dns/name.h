// SPDX-License-Identifier: MIT
// Domain names on the wire: a bounds-checked walker for (possibly compressed) names,
// case-insensitive comparison, and presentation-form conversion for logs and tests.
// Lookup keys are dns::QuestionKey (question_key.h). Nothing here allocates except
// wire_to_text.
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

// Presentation form ("www.example.com.") for logs and tests; allocates.
std::string wire_to_text(const uint8_t* wire, size_t len);
// Parses presentation form into wire form; returns 0 on error. For tests and config.
size_t text_to_wire(std::string_view text, uint8_t* out /* kMaxNameWire */);

}  // namespace sinkhole::dns
