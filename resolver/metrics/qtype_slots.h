// SPDX-License-Identifier: MIT
// The query types counted one by one (queries by qtype); every other type is counted as
// "other". A fixed list keeps the per-worker counters a flat array (no map on the hot path)
// and the metric's cardinality bounded whatever clients send.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sinkhole::metrics {

struct QtypeSlot {
  uint16_t type;
  const char* name;
};

inline constexpr std::array<QtypeSlot, 20> kQtypeSlots{{
    {1, "A"},     {28, "AAAA"},  {5, "CNAME"},   {15, "MX"},    {16, "TXT"},
    {2, "NS"},    {6, "SOA"},    {12, "PTR"},    {33, "SRV"},   {65, "HTTPS"},
    {64, "SVCB"}, {43, "DS"},    {48, "DNSKEY"}, {257, "CAA"},  {35, "NAPTR"},
    {255, "ANY"}, {13, "HINFO"}, {99, "SPF"},    {252, "AXFR"}, {251, "IXFR"},
}};
inline constexpr size_t kQtypeOther = kQtypeSlots.size();
inline constexpr size_t kQtypeSlotCount = kQtypeSlots.size() + 1;

inline size_t qtype_slot(uint16_t type) noexcept {
  for (size_t i = 0; i < kQtypeSlots.size(); ++i)
    if (kQtypeSlots[i].type == type) return i;
  return kQtypeOther;
}

inline const char* qtype_slot_name(size_t slot) noexcept {
  return slot < kQtypeSlots.size() ? kQtypeSlots[slot].name : "other";
}

}  // namespace sinkhole::metrics
