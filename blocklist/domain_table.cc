// SPDX-License-Identifier: MIT
#include "blocklist/domain_table.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstring>

#include "blocklist/name_hash.h"

namespace sinkhole::blocklist {

namespace {
constexpr size_t kMaxLabels = dns::kMaxNameWire / 2 + 1;
constexpr size_t kInitialSlots = 1024;

// Tag 0 marks a free slot, so a real hash never produces it.
inline uint32_t tag_of(uint64_t h) {
  const auto tag = static_cast<uint32_t>(h >> 32);
  return tag ? tag : 1;
}

constexpr size_t align4(size_t n) {
  return (n + 3) & ~size_t{3};
}
// Offset of the first Rule inside a record whose name is `len` bytes.
constexpr size_t rules_offset(size_t len) {
  return align4(2 + len);
}
// Bytes of the record of a `len`-byte name with these rules (0 while it has none yet).
constexpr size_t record_size(size_t len, uint32_t exact, uint32_t below) {
  if (exact == kNoRule && below == kNoRule) return 0;
  const size_t n_rules = (exact != kNoRule) + (below != kNoRule) - (exact == below);
  return rules_offset(len) + n_rules * sizeof(Rule);
}

// Hash of a whole lower-case wire name (its own suffix 0), from an unpadded buffer: what
// suffix_hashes() gives as hashes[0], without finalising every other suffix (the builder
// hashes each name of a 1M-name list three times: 4% of its load in perf record).
uint64_t name_hash(const uint8_t* wire, size_t len, uint64_t seed) {
  uint8_t name[dns::kMaxNameWire + kHashPad];
  std::memcpy(name, wire, len);
  std::memset(name + len, 0, kHashPad);
  uint16_t offsets[kMaxLabels];
  size_t n = 0;
  for (size_t pos = 0; pos < len && name[pos] != 0; pos += 1 + name[pos])
    offsets[n++] = static_cast<uint16_t>(pos);
  uint64_t h = seed;
  for (size_t i = n; i-- > 0;) h = extend_hash(h, name + offsets[i] + 1, name[offsets[i]]);
  return n == 0 ? 0 : mix64(h * kHashMul);
}
}  // namespace

const Rule* DomainTable::rule_at(const uint8_t* record, bool below) const {
  const uint8_t flags = record[1];
  const uint8_t* first = record + rules_offset(record[0]);
  if (!below) return (flags & kHasExact) ? reinterpret_cast<const Rule*>(first) : nullptr;
  if (!(flags & kHasBelow)) return nullptr;
  const bool second = (flags & kHasExact) && !(flags & kShared);
  return reinterpret_cast<const Rule*>(first + (second ? sizeof(Rule) : 0));
}

DomainHit DomainTable::lookup(const uint8_t* wire, size_t len) const noexcept {
  if (count_ == 0 || len > dns::kMaxNameWire) return {};
  uint8_t lower[dns::kMaxNameWire + kHashPad];
  std::memcpy(lower, wire, len);
  std::memset(lower + len, 0, kHashPad);
  lower_wire(lower, len, lower);
  uint16_t offsets[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  const size_t labels = suffix_hashes(lower, len, seed_, offsets, hashes);
  // Every suffix's home bucket is known now: fetch them all at once, so that a 4-label
  // miss costs about one memory latency instead of four in a row.
  for (size_t i = 0; i < labels; ++i) __builtin_prefetch(&buckets_[hashes[i] & mask_]);

  DomainHit found;
  for (size_t i = 0; i < labels; ++i) {
    const uint64_t h = hashes[i];
    const uint32_t tag = tag_of(h);
    const uint8_t* suffix = lower + offsets[i];
    const size_t suffix_len = len - offsets[i];
    const __m128i want = _mm_set1_epi32(static_cast<int>(tag));
    const __m128i zero = _mm_setzero_si128();
    const Rule* rule = nullptr;
    bool name_found = false;
    for (uint64_t b = h & mask_;; b = (b + 1) & mask_) {
      const Bucket& bucket = buckets_[b];
      const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(bucket.tags));
      const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(bucket.tags + 4));
      unsigned match =
          static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, want))) |
                                _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, want))) << 4);
      while (match) {
        const unsigned k = static_cast<unsigned>(__builtin_ctz(match));
        match &= match - 1;
        const uint8_t* record = records_ + bucket.records[k];
        // Compare in full: a tag match alone never decides.
        if (record[0] != suffix_len || std::memcmp(record + 2, suffix, suffix_len) != 0) continue;
        rule = rule_at(record, i != 0);
        name_found = true;
        break;
      }
      if (name_found) break;
      const unsigned free_slots =
          static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, zero))) |
                                _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, zero))) << 4);
      if (free_slots) break;  // the name would have been placed here
    }
    if (rule == nullptr) continue;
    if (found.rule == nullptr) {
      found = {rule, static_cast<uint8_t>(i)};
      if (rule->kind != RuleKind::kException) return found;
    } else if (rule->important && rule->kind == RuleKind::kBlock) {
      return {rule, static_cast<uint8_t>(i)};  // $important outranks the exception
    }
  }
  return found;
}

// `n` free slots, in memory advised to use huge pages before it is filled.
std::vector<DomainTable::Builder::Slot> DomainTable::Builder::free_slots(size_t n) {
  std::vector<Slot> v;
  v.reserve(n);
  advise_huge_pages(v.data(), n * sizeof(Slot));
  v.assign(n, Slot{0, kNoRule, kNoRule, kNoRule});
  return v;
}

DomainTable::Builder::Builder(uint64_t seed) : seed_(seed) {
  slots_ = free_slots(kInitialSlots);
  mask_ = kInitialSlots - 1;
}

void DomainTable::Builder::reserve(size_t names, size_t name_bytes) {
  if (names_.capacity() < names_.size() + name_bytes) {
    names_.reserve(names_.size() + name_bytes);
    advise_huge_pages(names_.data(), names_.capacity());
  }
  size_t want = slots_.size();
  while (want * 6 < (count_ + names) * 10) want *= 2;
  if (count_ == 0 && want > slots_.size()) {  // nothing to move yet: size it once
    slots_ = free_slots(want);
    mask_ = want - 1;
  }
  while (want > slots_.size()) grow();
}

void DomainTable::Builder::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_ = free_slots(old.size() * 2);
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.name == kNoRule) continue;
    const uint8_t* stored = names_.data() + s.name;
    uint64_t i = name_hash(stored + 1, stored[0], seed_) & mask_;
    while (slots_[i].name != kNoRule) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

uint64_t DomainTable::Builder::hash(const uint8_t* wire, size_t len) const {
  return name_hash(wire, len, seed_);
}

DomainTable::Builder::Existing DomainTable::Builder::find_or_insert(const uint8_t* wire, size_t len,
                                                                    uint64_t h) {
  if ((count_ + 1) * 10 > slots_.size() * 6) grow();
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  uint64_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.name == kNoRule) break;
    if (s.tag != tag) continue;
    const uint8_t* stored = names_.data() + s.name;
    if (stored[0] == len && std::memcmp(stored + 1, wire, len) == 0)
      return {s.exact, s.below, static_cast<size_t>(i), len};
  }
  Slot& s = slots_[i];
  s.tag = tag;
  s.name = static_cast<uint32_t>(names_.size());
  names_.push_back(static_cast<uint8_t>(len));
  names_.insert(names_.end(), wire, wire + len);
  ++count_;
  return {kNoRule, kNoRule, static_cast<size_t>(i), len};
}

bool DomainTable::Builder::find(const uint8_t* wire, size_t len, uint64_t h, Existing& out) const {
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.name == kNoRule) return false;
    if (s.tag != tag) continue;
    const uint8_t* stored = names_.data() + s.name;
    if (stored[0] == len && std::memcmp(stored + 1, wire, len) == 0) {
      out = {s.exact, s.below, static_cast<size_t>(i), len};
      return true;
    }
  }
}

void DomainTable::Builder::set(const Existing& at, uint32_t exact, uint32_t below) {
  Slot& s = slots_[at.slot];
  record_bytes_ -= record_size(at.len, s.exact, s.below);
  record_bytes_ += record_size(at.len, exact, below);
  s.exact = exact;
  s.below = below;
}

DomainTable DomainTable::Builder::finish(const std::vector<Rule>& rules) {
  DomainTable t;
  t.seed_ = seed_;
  t.count_ = count_;
  // Buckets of 8 at load ≤ 0.75; records sized exactly.
  size_t nbuckets = 16;
  while (nbuckets * 8 * 3 < count_ * 4) nbuckets *= 2;
  const size_t record_bytes = record_bytes_;
  const size_t bucket_bytes = nbuckets * sizeof(Bucket);
  t.mem_ = HugeBuffer(bucket_bytes + record_bytes);  // zero-filled: every tag free
  auto* buckets = reinterpret_cast<Bucket*>(t.mem_.data());
  uint8_t* records = t.mem_.data() + bucket_bytes;
  t.mask_ = nbuckets - 1;

  // Slots are walked in order, and so are the buckets they land in (both are indexed by
  // the low bits of the hash), but each slot's name and rules sit at random places in
  // names_ and `rules`: prefetching them kPrefetch slots ahead overlaps those DRAM misses
  // instead of waiting on each (a third of the build time of a 1M list before this).
  constexpr size_t kPrefetch = 16;
  size_t at = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (i + kPrefetch < slots_.size()) {
      const Slot& ahead = slots_[i + kPrefetch];
      if (ahead.name != kNoRule) {
        __builtin_prefetch(names_.data() + ahead.name);
        if (ahead.exact != kNoRule) __builtin_prefetch(&rules[ahead.exact]);
        if (ahead.below != kNoRule) __builtin_prefetch(&rules[ahead.below]);
      }
    }
    const Slot& s = slots_[i];
    if (s.name == kNoRule || (s.exact == kNoRule && s.below == kNoRule)) continue;
    const uint8_t* stored = names_.data() + s.name;
    const size_t len = stored[0];
    uint8_t* rec = records + at;
    rec[0] = static_cast<uint8_t>(len);
    uint8_t flags = 0;
    if (s.exact != kNoRule) flags |= kHasExact;
    if (s.below != kNoRule) flags |= kHasBelow;
    if (s.exact != kNoRule && s.exact == s.below) flags |= kShared;
    rec[1] = flags;
    std::memcpy(rec + 2, stored + 1, len);
    uint8_t* r = rec + rules_offset(len);
    if (s.exact != kNoRule) {
      std::memcpy(r, &rules[s.exact], sizeof(Rule));
      r += sizeof(Rule);
    }
    if (s.below != kNoRule && !(flags & kShared)) {
      std::memcpy(r, &rules[s.below], sizeof(Rule));
      r += sizeof(Rule);
    }

    const uint64_t h = name_hash(stored + 1, len, seed_);
    for (uint64_t b = h & t.mask_;; b = (b + 1) & t.mask_) {
      Bucket& bucket = buckets[b];
      const auto free = std::find(std::begin(bucket.tags), std::end(bucket.tags), 0u);
      if (free == std::end(bucket.tags)) continue;
      *free = tag_of(h);
      bucket.records[free - std::begin(bucket.tags)] = static_cast<uint32_t>(at);
      break;
    }
    at = static_cast<size_t>(r - records);
  }
  t.buckets_ = buckets;
  t.records_ = records;
  return t;
}

}  // namespace sinkhole::blocklist
