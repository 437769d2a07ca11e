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

// Buffers handed to extend_hash/suffix_hashes/lower_wire must have this many readable
// bytes after the name: labels are read 8 bytes at a time and the excess is masked off.
// (A byte-exact memcpy of the tail cost a libc call and a store-forwarding stall: 20% of
// a lookup in perf.)
inline constexpr size_t kHashPad = 8;

inline uint64_t load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// ASCII lower case, 8 bytes at a time (SWAR): only 'A'..'Z' change, label length bytes
// (0..63) never do. `out` and `in` need kHashPad bytes of slack; may alias.
inline void lower_wire(const uint8_t* in, size_t len, uint8_t* out) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  for (size_t i = 0; i < len; i += 8) {
    const uint64_t x = load8(in + i);
    const uint64_t low7 = x & (0x7f * kOnes);
    const uint64_t above_z = low7 + (0x7f - 'Z') * kOnes;  // high bit set if > 'Z'
    const uint64_t from_a = low7 + (0x80 - 'A') * kOnes;   // high bit set if >= 'A'
    const uint64_t upper = (from_a ^ above_z) & ~x & (0x80 * kOnes);
    const uint64_t lowered = x | (upper >> 2);
    std::memcpy(out + i, &lowered, 8);
  }
}

inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

inline uint64_t rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

// Extends the chain value of a suffix with one more label (its bytes, already lower-cased,
// with kHashPad readable bytes after them). One multiply per 8 bytes: the chain is
// sequential across labels, so it is kept short; each suffix is finalised separately.
inline uint64_t extend_hash(uint64_t h, const uint8_t* label, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) h = rotl((h ^ load8(label + i)) * kHashMul, 29);
  if (i < len) {
    const uint64_t chunk = load8(label + i) & (~0ull >> (8 * (8 - (len - i))));
    h = rotl((h ^ chunk) * kHashMul, 29);
  }
  return rotl((h ^ (len + 0x100)) * kHashMul, 29);
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
  // Finalising is independent per suffix, so these multiplies overlap.
  for (size_t i = 0; i < n; ++i) hashes[i] = mix64(hashes[i] * kHashMul);
  return n;
}

}  // namespace sinkhole::blocklist
