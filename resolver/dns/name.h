// SPDX-License-Identifier: MIT
// Domain names on the wire: a bounds-checked walker for (possibly compressed) names,
// case-insensitive comparison, and presentation-form conversion for logs and tests.
// Lookup keys are dns::QuestionKey (question_key.h). Nothing here allocates except
// wire_to_text and wire_to_log_text (and append_wire_log_text while its buffer grows).
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
  kPastEnd,          // a label or pointer runs past the message end
  kBadLabelType,     // 0x40 / 0x80 label types (RFC 6891 §5 retired them)
  kPointerLoop,      // a pointer to itself, into its own name, or back to one followed
  kForwardPointer,   // a pointer past its own position, or into the header
  kPointerPastEnd,   // a pointer target beyond the message
  kTooLong,          // more than 255 octets once expanded
  kTooManyPointers,  // more compression pointers followed than the walk allows
};

// Compression pointers one name walk follows at most. Every pointer must point before the
// previous one, so a walk always ends, but a chain of pointers to pointers costs one step
// per two bytes of message: without a bound a 64 KB message of such chains cost 0.24 s to
// parse. A name in an answer has at most 127 labels and compressors point at a suffix
// already written, so real chains are a few hops deep; Unbound allows 256 per name.
inline constexpr unsigned kMaxPointerHops = 64;
// A query needs none at all (nothing before its question can be pointed at, and OPT is
// owned by the root): 16 is generous and keeps a hostile query's walk short.
inline constexpr unsigned kMaxQueryPointerHops = 16;

const char* to_string(NameError e);

struct NameWalk {
  NameError error = NameError::kNone;
  size_t end = 0;       // offset just past the name where it sits (after the first pointer)
  size_t wire_len = 0;  // expanded length including the root label
  bool compressed = false;
};

// Walks the name at `off` in `msg[0..len)`, following backward compression pointers when
// `allow_pointers` is set, at most `max_hops` of them. When `out` is given (kMaxNameWire
// bytes), the expanded name is written to it, lower-cased if `lower` is set.
NameWalk walk_name(const uint8_t* msg, size_t len, size_t off, bool allow_pointers,
                   uint8_t* out = nullptr, bool lower = false,
                   unsigned max_hops = kMaxPointerHops) noexcept;

// Case-insensitive comparison of two uncompressed wire names of equal length.
bool wire_names_equal_ci(const uint8_t* a, const uint8_t* b, size_t len) noexcept;

// Presentation form ("www.example.com.") for tests and trusted names; allocates.
std::string wire_to_text(const uint8_t* wire, size_t len);
// The same for a log line, where the name came from the wire: control bytes, DEL, ESC,
// newlines and invalid UTF-8 become \xNN (util/log_escape.h), a dot inside a label `\.`,
// a backslash `\\`; printable ASCII and UTF-8 stay as they are. One allocation, as
// wire_to_text (no more for a name that needs no escaping).
std::string wire_to_log_text(const uint8_t* wire, size_t len);
// The same appended to `out`: a caller that reuses `out` allocates only while it grows
// (the blocked-query log, per query on a worker).
void append_wire_log_text(std::string& out, const uint8_t* wire, size_t len);
// Parses presentation form into wire form; returns 0 on error. For tests and config.
size_t text_to_wire(std::string_view text, uint8_t* out /* kMaxNameWire */);

}  // namespace sinkhole::dns
