// SPDX-License-Identifier: MIT
// Suffix hashing for wire-format names. The hash of a name is built label by label from
// the right (TLD first), so one right-to-left pass over a query name yields the hash of
// every parent suffix at once: the matcher then probes from the most specific suffix
// outwards without rehashing. Builder and lookup must use exactly these functions.
//
// Hand-written rather than absl::Hash because absl cannot extend a hash incrementally
// from the right, which is what makes a lookup O(name length) instead of O(labels²).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sinkhole::blocklist {

inline constexpr uint64_t kHashMul = 0x9E3779B97F4A7C15ull;

inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// Extends the hash of a suffix with one more label (its bytes, already lower-cased).
inline uint64_t extend_hash(uint64_t h, const uint8_t* label, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, label + i, 8);
    h = (h ^ chunk) * kHashMul;
    h ^= h >> 29;
  }
  if (i < len) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, label + i, len - i);
    h = (h ^ chunk) * kHashMul;
    h ^= h >> 29;
  }
  return mix64(h ^ (len + 0x100));
}

// Splits a lower-case uncompressed wire name into label offsets and computes the hash of
// every suffix: hashes[i] covers labels i..n-1. Returns the label count (root excluded).
inline size_t suffix_hashes(const uint8_t* wire, size_t len, uint64_t seed, uint16_t* offsets,
                            uint64_t* hashes) {
  size_t n = 0;
  size_t pos = 0;
  while (pos < len && wire[pos] != 0) {
    offsets[n++] = static_cast<uint16_t>(pos);
    pos += 1 + wire[pos];
  }
  uint64_t h = seed;
  for (size_t i = n; i-- > 0;) {
    h = extend_hash(h, wire + offsets[i] + 1, wire[offsets[i]]);
    hashes[i] = h;
  }
  return n;
}

}  // namespace sinkhole::blocklist
