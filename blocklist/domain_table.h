// SPDX-License-Identifier: MIT
// DomainTable: the immutable hashed suffix set behind domain rules.
//
// Layout
//   arena_  every distinct name once, lower-case wire form, back to back
//   slots_  open addressing (linear probing, power-of-two size, load ≤ 0.6), 16 bytes:
//             tag   upper 32 bits of the name's suffix hash (rejects most probes early)
//             name  offset of the name in arena_ (kEmpty = free slot)
//             exact rule index applying to the name itself   (kNoRule if none)
//             below rule index applying to names strictly below it (kNoRule if none)
//   A domain-list entry (name and subdomains) sets both rule fields; RPZ `name` sets
//   `exact`, RPZ `*.name` sets `below`.
//
// Lookup walks the query's suffixes from the most specific one outwards and returns the
// first rule found, comparing the full name bytes on every tag hit. It allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "resolver/dns/wire.h"

namespace sinkhole::blocklist {

inline constexpr uint32_t kNoRule = 0xFFFFFFFF;

struct DomainHit {
  uint32_t rule = kNoRule;
  uint8_t depth = 0;  // 0 = the name itself, 1 = its parent, …
};

class DomainTable {
 public:
  DomainTable() = default;
  // Lower-case wire name → hit. `wire` may be any case; it is lower-cased on the stack.
  DomainHit lookup(const uint8_t* wire, size_t len) const noexcept;
  size_t size() const { return count_; }
  size_t memory_bytes() const { return arena_.capacity() + slots_.capacity() * sizeof(Slot); }

  class Builder;

 private:
  struct Slot {
    uint32_t tag;
    uint32_t name;
    uint32_t exact;
    uint32_t below;
  };
  static constexpr uint32_t kEmpty = 0xFFFFFFFF;

  uint64_t seed_ = 0;
  uint64_t mask_ = 0;
  size_t count_ = 0;
  std::vector<uint8_t> arena_;
  std::vector<Slot> slots_;
};

// Collects (name, exact rule, below rule) and lays out the table. When a name is added
// twice, `resolve` decides per field which rule stays.
class DomainTable::Builder {
 public:
  explicit Builder(uint64_t seed);
  void reserve(size_t names, size_t arena_bytes);
  // `wire` is a lower-case uncompressed wire name. Either rule may be kNoRule.
  // Returns the slot's previous rules (kNoRule where the field was free) so that the
  // caller can merge; `set` then writes the merged values.
  struct Existing {
    uint32_t exact = kNoRule;
    uint32_t below = kNoRule;
    size_t slot = 0;
  };
  Existing find_or_insert(const uint8_t* wire, size_t len);
  void set(const Existing& at, uint32_t exact, uint32_t below);
  DomainTable finish();

 private:
  void grow();
  DomainTable t_;
};

}  // namespace sinkhole::blocklist
