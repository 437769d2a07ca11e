// SPDX-License-Identifier: MIT
// DomainTable: the immutable hashed suffix set behind domain rules.
//
// Layout (one HugeBuffer: buckets, then records)
//   buckets  64 bytes = one cache line: 8 tags (upper half of the name's suffix hash,
//            0 = free) then the 8 matching record offsets. A name lives in its home bucket
//            or, when that is full, in the next ones (linear probing by bucket; load ≤ 0.75).
//            One SSE2 compare tests all 8 tags, so a miss costs one line and no
//            unpredictable branch per slot (Swiss-table style; an earlier 8-byte-slot
//            linear-probing layout spent most of a miss on slot-by-slot branches).
//   records  4-byte aligned: [len u8][flags u8][name: len bytes, lower-case wire]
//            [pad to 4][Rule][Rule]. flags: kHasExact (a rule for the name itself),
//            kHasBelow (a rule for names strictly below it), kShared (one Rule serves
//            both, as for every domain-list entry).
//   A probe that hits touches two cache lines: the bucket and the record, which holds
//   both the bytes compared in full and the Rule returned. (A first version kept rule
//   indexes in the slots and Rules in a separate array: three dependent misses per hit.)
//
// Why this design and not the others measured (perf/blocklist_bench, 1M names, same run):
//   this table                 build 0.85 s, 65 MB, subdomain hit 142 ns, 4-label miss 85 ns
//   unordered_set<string>      build 1.4 s, 110 MB heap, hit 278 ns, miss 513 ns
//   Hyperscan-only (literals)  build 38 s, 71 MB, hit 907 ns, miss 336 ns
// Hyperscan stays for what only it can do (regex and wildcard rules); for plain domains
// a hashed suffix walk is faster at less or equal memory.
//
// Lookup walks the query's suffixes from the most specific outwards and returns the first
// rule found. An exception found that way is still outranked by an `important` block on a
// parent (AdBlock $important). It allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "blocklist/huge_buffer.h"
#include "blocklist/rule.h"
#include "resolver/dns/wire.h"

namespace sinkhole::blocklist {

inline constexpr uint32_t kNoRule = 0xFFFFFFFF;

struct DomainHit {
  const Rule* rule = nullptr;
  uint8_t depth = 0;  // 0 = the name itself, 1 = its parent, …
};

class DomainTable {
 public:
  DomainTable() = default;
  // `wire`: uncompressed wire name, any case (lower-cased on the stack).
  DomainHit lookup(const uint8_t* wire, size_t len) const noexcept;
  size_t size() const { return count_; }
  size_t memory_bytes() const { return mem_.size(); }

  class Builder;

 private:
  static constexpr uint8_t kHasExact = 1, kHasBelow = 2, kShared = 4;
  struct alignas(64) Bucket {
    uint32_t tags[8];
    uint32_t records[8];
  };

  const Rule* rule_at(const uint8_t* record, bool below) const;

  HugeBuffer mem_;
  const Bucket* buckets_ = nullptr;
  const uint8_t* records_ = nullptr;
  uint64_t seed_ = 0;
  uint64_t mask_ = 0;
  size_t count_ = 0;
};

// Collects names with the index of their exact and below rules, merges repeats (the caller
// decides which rule a field keeps), then lays out the final table.
class DomainTable::Builder {
 public:
  explicit Builder(uint64_t seed);
  void reserve(size_t names, size_t name_bytes);
  struct Existing {
    uint32_t exact = kNoRule;
    uint32_t below = kNoRule;
    size_t slot = 0;
    size_t len = 0;
  };
  // `wire` is a lower-case uncompressed wire name.
  Existing find_or_insert(const uint8_t* wire, size_t len) {
    return find_or_insert(wire, len, hash(wire, len));
  }
  // The same with the name's hash computed beforehand, so that a caller inserting many
  // names can prefetch() their slots a few names ahead: the table is tens of megabytes and
  // each probe is otherwise a DRAM miss the CPU waits for.
  uint64_t hash(const uint8_t* wire, size_t len) const;
  void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_], 1); }
  Existing find_or_insert(const uint8_t* wire, size_t len, uint64_t hash);
  // The name's rule indexes if it is in the table (nothing inserted).
  bool find(const uint8_t* wire, size_t len, uint64_t hash, Existing& out) const;
  void set(const Existing& at, uint32_t exact, uint32_t below);
  // `rules` resolves the indexes given to set().
  DomainTable finish(const std::vector<Rule>& rules);

 private:
  struct Slot {
    uint32_t tag;
    uint32_t name;  // offset in names_ (kNoRule = free)
    uint32_t exact;
    uint32_t below;
  };
  void grow();
  static std::vector<Slot> free_slots(size_t n);
  uint64_t seed_;
  uint64_t mask_;
  size_t count_ = 0;
  size_t record_bytes_ = 0;     // kept by set(), so finish() need not read every name twice
  std::vector<uint8_t> names_;  // [len][wire name] back to back
  std::vector<Slot> slots_;
};

}  // namespace sinkhole::blocklist
