// SPDX-License-Identifier: MIT
#include "blocklist/domain_table.h"

#include <cstring>

#include "blocklist/name_hash.h"

namespace sinkhole::blocklist {

namespace {
constexpr size_t kMaxLabels = dns::kMaxNameWire / 2 + 1;
constexpr size_t kInitialSlots = 1024;
}  // namespace

DomainHit DomainTable::lookup(const uint8_t* wire, size_t len) const noexcept {
  if (count_ == 0 || len > dns::kMaxNameWire) return {};
  uint8_t padded[dns::kMaxNameWire + kHashPad];
  uint8_t lower[dns::kMaxNameWire + kHashPad];
  std::memcpy(padded, wire, len);
  std::memset(padded + len, 0, kHashPad);
  lower_wire(padded, len, lower);
  uint16_t offsets[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  const size_t labels = suffix_hashes(lower, len, seed_, offsets, hashes);
  const Slot* slots = slots_.data();
  const uint8_t* arena = arena_.data();
  // Every suffix's home slot is known now: fetch them all at once, so that a 4-label miss
  // costs about one memory latency instead of four in a row (measured in perf/).
  for (size_t i = 0; i < labels; ++i) __builtin_prefetch(&slots[hashes[i] & mask_]);
  for (size_t i = 0; i < labels; ++i) {
    const uint64_t h = hashes[i];
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    const uint8_t* suffix = lower + offsets[i];
    const size_t suffix_len = len - offsets[i];
    for (uint64_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots[s];
      if (slot.name == kEmpty) break;
      if (slot.tag != tag) continue;
      const uint8_t* stored = arena + slot.name;
      // Stored names carry their length in front; compare in full, never trust the hash.
      if (stored[0] != suffix_len || std::memcmp(stored + 1, suffix, suffix_len) != 0) continue;
      const uint32_t rule = i == 0 ? slot.exact : slot.below;
      if (rule != kNoRule) return {rule, static_cast<uint8_t>(i)};
      break;
    }
  }
  return {};
}

DomainTable::Builder::Builder(uint64_t seed) {
  t_.seed_ = seed;
  t_.slots_.assign(kInitialSlots, Slot{0, kEmpty, kNoRule, kNoRule});
  t_.mask_ = kInitialSlots - 1;
}

void DomainTable::Builder::reserve(size_t names, size_t arena_bytes) {
  t_.arena_.reserve(arena_bytes);
  size_t want = kInitialSlots;
  while (want * 6 < names * 10) want *= 2;  // load ≤ 0.6
  if (want > t_.slots_.size() && t_.count_ == 0) {
    t_.slots_.assign(want, Slot{0, kEmpty, kNoRule, kNoRule});
    t_.mask_ = want - 1;
  }
}

void DomainTable::Builder::grow() {
  std::vector<Slot> old = std::move(t_.slots_);
  t_.slots_.assign(old.size() * 2, Slot{0, kEmpty, kNoRule, kNoRule});
  t_.mask_ = t_.slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.name == kEmpty) continue;
    // Recompute the full hash from the stored name: tags keep only its upper half.
    const uint8_t* stored = t_.arena_.data() + s.name;
    uint8_t name[dns::kMaxNameWire + kHashPad];
    std::memcpy(name, stored + 1, stored[0]);
    std::memset(name + stored[0], 0, kHashPad);
    uint16_t offsets[kMaxLabels];
    uint64_t hashes[kMaxLabels];
    suffix_hashes(name, stored[0], t_.seed_, offsets, hashes);
    uint64_t i = hashes[0] & t_.mask_;
    while (t_.slots_[i].name != kEmpty) i = (i + 1) & t_.mask_;
    t_.slots_[i] = s;
  }
}

DomainTable::Builder::Existing DomainTable::Builder::find_or_insert(const uint8_t* wire,
                                                                    size_t len) {
  if ((t_.count_ + 1) * 10 > t_.slots_.size() * 6) grow();
  uint8_t name[dns::kMaxNameWire + kHashPad];
  std::memcpy(name, wire, len);
  std::memset(name + len, 0, kHashPad);
  uint16_t offsets[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  suffix_hashes(name, len, t_.seed_, offsets, hashes);
  const uint64_t h = hashes[0];
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  uint64_t i = h & t_.mask_;
  for (;; i = (i + 1) & t_.mask_) {
    Slot& s = t_.slots_[i];
    if (s.name == kEmpty) break;
    if (s.tag != tag) continue;
    const uint8_t* stored = t_.arena_.data() + s.name;
    if (stored[0] == len && std::memcmp(stored + 1, wire, len) == 0)
      return {s.exact, s.below, static_cast<size_t>(i)};
  }
  Slot& s = t_.slots_[i];
  s.tag = tag;
  s.name = static_cast<uint32_t>(t_.arena_.size());
  t_.arena_.push_back(static_cast<uint8_t>(len));
  t_.arena_.insert(t_.arena_.end(), wire, wire + len);
  ++t_.count_;
  return {kNoRule, kNoRule, static_cast<size_t>(i)};
}

void DomainTable::Builder::set(const Existing& at, uint32_t exact, uint32_t below) {
  t_.slots_[at.slot].exact = exact;
  t_.slots_[at.slot].below = below;
}

DomainTable DomainTable::Builder::finish() {
  t_.arena_.shrink_to_fit();
  return std::move(t_);
}

}  // namespace sinkhole::blocklist
