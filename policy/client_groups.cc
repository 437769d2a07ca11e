// SPDX-License-Identifier: MIT
#include "policy/client_groups.h"

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

namespace sinkhole::policy {

namespace {

using u128 = unsigned __int128;

constexpr uint32_t kNoGroup = ClientGroups::kNoGroup;

// The index never grows past 2^16 buckets (256 KiB): larger ones measured no faster with
// 100,000 prefixes, as the bucket search then covers only a few entries.
constexpr int kMaxIndexBits = 16;

template <typename Key>
constexpr int kBits = static_cast<int>(sizeof(Key) * 8);

// Bits past the first `prefix` ones (the host part); zero for a full-length prefix.
template <typename Key>
Key host_mask(int prefix) {
  return prefix >= kBits<Key> ? Key{0} : static_cast<Key>(~Key{0} >> prefix);
}

int leading_zeros(uint32_t x) {
  return std::countl_zero(x);
}
int leading_zeros(u128 x) {
  const auto hi = static_cast<uint64_t>(x >> 64);
  return hi != 0 ? std::countl_zero(hi) : 64 + std::countl_zero(static_cast<uint64_t>(x));
}

uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return be64toh(v);
}

// Table entries keep the IPv6 key as two halves (see Key6 in the header); these convert.
template <typename Stored>
auto widen(const Stored& s) {
  if constexpr (std::is_same_v<Stored, uint32_t>) {
    return s;
  } else {
    return (static_cast<u128>(s.hi) << 64) | s.lo;
  }
}
template <typename Stored>
Stored narrow(uint32_t key) {
  return key;
}
template <typename Stored>
Stored narrow(u128 key) {
  return Stored{static_cast<uint64_t>(key >> 64), static_cast<uint64_t>(key)};
}

template <typename Key>
struct Prefix {
  Key first;  // network address
  Key last;   // broadcast address: first | host bits
  int length;
  uint32_t group;
};

template <typename Key>
struct Boundary {
  Key start;
  uint32_t group;
};

// Turns nested-or-disjoint prefixes into the sorted starts of the intervals on which the
// longest covering prefix is constant. Sorted by (first, length), a prefix comes after every
// prefix that contains it, so a stack of the currently open prefixes knows, when one closes,
// whose group resumes after it.
template <typename Key>
std::vector<Boundary<Key>> intervals(std::vector<Prefix<Key>>& prefixes) {
  std::sort(prefixes.begin(), prefixes.end(), [](const Prefix<Key>& a, const Prefix<Key>& b) {
    return a.first != b.first ? a.first < b.first : a.length < b.length;
  });
  std::vector<Boundary<Key>> raw;  // non-decreasing starts; of equal starts the last wins
  raw.reserve(prefixes.size() * 2 + 1);
  raw.push_back({Key{0}, kNoGroup});
  std::vector<const Prefix<Key>*> open;
  auto close = [&](bool all, Key next_first) {
    while (!open.empty() && (all || open.back()->last < next_first)) {
      const Key last = open.back()->last;
      open.pop_back();
      // A prefix reaching the top of the address space has nothing after it.
      if (last != static_cast<Key>(~Key{0})) {
        raw.push_back({static_cast<Key>(last + 1), open.empty() ? kNoGroup : open.back()->group});
      }
    }
  };
  for (const Prefix<Key>& p : prefixes) {
    close(false, p.first);
    raw.push_back({p.first, p.group});
    open.push_back(&p);
  }
  close(true, Key{0});

  // Keep the last boundary of each start, and drop one that repeats its left neighbour's group.
  std::vector<Boundary<Key>> out;
  out.reserve(raw.size());
  for (const Boundary<Key>& b : raw) {
    if (!out.empty() && out.back().start == b.start) {
      out.back().group = b.group;
      if (out.size() >= 2 && out[out.size() - 2].group == b.group) out.pop_back();
    } else if (out.empty() || out.back().group != b.group) {
      out.push_back(b);
    }
  }
  return out;
}

// Fills a ClientGroups::Table (deduced: the type is private to ClientGroups) from prefixes.
template <typename Key, typename Table>
void lay_out(std::vector<Prefix<Key>>& prefixes, Table& table) {
  using Stored = decltype(table.entries[0].start);
  const std::vector<Boundary<Key>> bounds = intervals(prefixes);
  const size_t n = bounds.size();

  table.entries.clear();
  table.entries.reserve(n);
  for (const Boundary<Key>& b : bounds) table.entries.push_back({narrow<Stored>(b.start), b.group});

  // Region: the leading bits every start but the first (always 0) has in common.
  const int index_bits = std::clamp(static_cast<int>(std::bit_width(n)), 1, kMaxIndexBits);
  int region_bits = 0;
  if (n >= 2) {
    const Key diff = bounds[1].start ^ bounds[n - 1].start;
    region_bits = diff == 0 ? kBits<Key> : leading_zeros(diff);
  }
  region_bits = std::min(region_bits, kBits<Key> - index_bits);
  const Key region_first =
      n >= 2 ? static_cast<Key>(bounds[1].start & ~host_mask<Key>(region_bits)) : Key{0};
  table.region_first = region_first;
  table.region_last = region_first | host_mask<Key>(region_bits);
  table.index_shift = kBits<Key> - region_bits - index_bits;
  table.index_mask = (uint32_t{1} << index_bits) - 1;

  const size_t buckets = size_t{1} << index_bits;
  table.index.assign(buckets + 1, 0);
  size_t i = 0;
  for (size_t t = 0; t < buckets; ++t) {
    const Key bucket_first = region_first + (static_cast<Key>(t) << table.index_shift);
    while (i + 1 < n && bounds[i + 1].start <= bucket_first) ++i;
    table.index[t] = static_cast<uint32_t>(i);
  }
  table.index[buckets] = static_cast<uint32_t>(n - 1);
}

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

}  // namespace

ClientGroups::ClientGroups() {
  std::vector<Prefix<uint32_t>> none4;
  std::vector<Prefix<u128>> none6;
  lay_out(none4, v4_);
  lay_out(none6, v6_);
}

template <typename Key, typename Stored>
uint32_t ClientGroups::find(const Table<Key, Stored>& table, Key address) noexcept {
  const Entry<Stored>* entries = table.entries.data();
  if (address < table.region_first) return entries[0].group;
  if (address > table.region_last) return table.entries.back().group;
  const auto bucket = static_cast<uint32_t>(address >> table.index_shift) & table.index_mask;
  // entries[lo].start ≤ address by construction of the index; find the last such entry.
  uint32_t lo = table.index[bucket];
  uint32_t hi = table.index[bucket + 1];
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    if (widen(entries[mid].start) <= address) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return entries[lo].group;
}

uint32_t ClientGroups::lookup_v4(uint32_t host_order) const noexcept {
  return find(v4_, host_order);
}

uint32_t ClientGroups::lookup_v6(const uint8_t* addr) const noexcept {
  const uint64_t hi = load_be64(addr);
  const uint64_t lo = load_be64(addr + 8);
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (hi == 0 && (lo >> 32) == 0xFFFF) return find(v4_, static_cast<uint32_t>(lo));
  return find(v6_, (static_cast<u128>(hi) << 64) | lo);
}

uint32_t ClientGroups::lookup(const sockaddr* addr) const noexcept {
  if (addr == nullptr) return kNoGroup;
  // Read through bytes: the caller's storage is a sockaddr_storage or the family's own type.
  const auto* bytes = reinterpret_cast<const uint8_t*>(addr);
  if (addr->sa_family == AF_INET) {
    uint32_t network_order;
    std::memcpy(&network_order, bytes + offsetof(sockaddr_in, sin_addr), sizeof network_order);
    return lookup_v4(ntohl(network_order));
  }
  if (addr->sa_family == AF_INET6) return lookup_v6(bytes + offsetof(sockaddr_in6, sin6_addr));
  return kNoGroup;
}

size_t ClientGroups::memory_bytes() const {
  return v4_.entries.capacity() * sizeof v4_.entries[0] +
         v4_.index.capacity() * sizeof v4_.index[0] +
         v6_.entries.capacity() * sizeof v6_.entries[0] +
         v6_.index.capacity() * sizeof v6_.index[0];
}

bool ClientGroups::Builder::add(const Cidr& cidr, uint32_t group, std::string* error) {
  const int bits = address_bits(cidr.family);
  if (bits == 0)
    return fail(error, fmt::format("client prefix has unknown family {}", cidr.family));
  if (cidr.prefix > bits) {
    return fail(error,
                fmt::format("client prefix {}: length longer than {} bits", to_string(cidr), bits));
  }
  if (!host_bits_zero(cidr)) {
    return fail(error, fmt::format("client prefix {}: host bits set", to_string(cidr)));
  }
  if (group == kNoGroup) {
    return fail(error, fmt::format("client prefix {}: group id {} is reserved for \"no group\"",
                                   to_string(cidr), group));
  }

  PrefixKey key{cidr.family, cidr.addr, cidr.prefix};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (cidr.family == AF_INET6 && cidr.prefix >= 96 &&
      std::memcmp(cidr.addr.data(), kMapped, sizeof kMapped) == 0) {
    // Lookups answer ::ffff:a.b.c.d from the IPv4 table, so that is where this prefix goes.
    key.family = AF_INET;
    key.addr = {};
    std::memcpy(key.addr.data(), cidr.addr.data() + 12, 4);
    key.prefix = static_cast<uint8_t>(cidr.prefix - 96);
  }

  const auto [it, inserted] = prefixes_.try_emplace(key, group);
  if (!inserted && it->second != group) {
    return fail(error, fmt::format("client prefix {} is already in group {}; it cannot also be in "
                                   "group {}",
                                   to_string(cidr), it->second, group));
  }
  return true;
}

ClientGroups ClientGroups::Builder::build() {
  std::vector<Prefix<uint32_t>> v4;
  std::vector<Prefix<u128>> v6;
  for (const auto& [key, group] : prefixes_) {
    if (key.family == AF_INET) {
      uint32_t first;
      std::memcpy(&first, key.addr.data(), sizeof first);
      first = ntohl(first);
      v4.push_back({first, first | host_mask<uint32_t>(key.prefix), key.prefix, group});
    } else {
      const u128 first =
          (static_cast<u128>(load_be64(key.addr.data())) << 64) | load_be64(key.addr.data() + 8);
      v6.push_back({first, first | host_mask<u128>(key.prefix), key.prefix, group});
    }
  }
  ClientGroups groups;
  lay_out(v4, groups.v4_);
  lay_out(v6, groups.v6_);
  groups.prefix_count_ = prefixes_.size();
  prefixes_.clear();
  return groups;
}

}  // namespace sinkhole::policy
