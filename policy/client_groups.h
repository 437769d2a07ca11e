// SPDX-License-Identifier: MIT
// ClientGroups: which client group a query's source address belongs to (pipeline stage 4),
// by longest-prefix match over the IPv4 and IPv6 prefixes of the policies' client lists.
//
// Immutable once built; lives in the PolicySnapshot and is read by every worker thread at
// once without locks. lookup*() are noexcept and allocate nothing. The Builder runs on the
// reload thread.
//
// Model. Prefixes are either nested or disjoint, so together they cut each family's address
// space into consecutive intervals on which the longest covering prefix does not change. The
// table stores only the start of each interval and its group, sorted; a lookup finds the
// last start ≤ the address. Intervals with the group of their left neighbour are merged.
//
// Layout (one Table per family; Key = uint32_t for IPv4, unsigned __int128 for IPv6)
//   entries       sorted {start, group}; entries[0].start = 0 (its group is kNoGroup unless a
//                 /0 was given). IPv6 starts are stored as two uint64_t halves: 24-byte
//                 entries instead of the 32 that __int128's alignment would make.
//   index         2^b + 1 entry numbers (b = bit width of the entry count, at most 16):
//                 index[t] = the last entry whose start ≤ the first address of bucket t.
//   region_first  The bucket of an address is the b bits just below the leading bits that
//   region_last   all starts but entries[0] share, so a plan clustered under 2001:db8::/32
//   index_shift   spreads over the whole index instead of landing in one bucket. Addresses
//   index_mask    outside [region_first, region_last] are answered by entries[0] (below)
//                 or entries.back() (above) without the index.
//   A lookup reads index[t] and index[t+1] (adjacent) and binary-searches the entries
//   between them, usually one to three: two or three cache lines in all.
//
// Why this design (perf/client_groups_bench: 100,000 prefixes, 50,000 IPv4 /8../32 and
// 50,000 IPv6 /32../128, a third nested; latency per lookup, 2.3 GHz VM, same run):
//                              build    v4 hit  v4 miss  v6 hit  v6 miss   memory
//   this table                 25 ms    31 ns   25 ns    52 ns   38 ns     3.5 MB
//   hash table per length      3.4 ms   101 ns  227 ns   306 ns  650 ns
//   (clustered IPv6, 50,000 prefixes under 2001:db8::/32: 52 ns per hit.)
// A hash table per prefix length, probed from the longest present length down, pays one
// probe per length present (25 for IPv4, 97 for IPv6 here) on every miss and on hits of
// short prefixes. The interval table costs the same few cache lines whatever lengths exist,
// and builds with one sort; its build time above includes Builder::add's duplicate check.
// A multibit trie was not built: DIR-24-8 alone is 32 MB for IPv4 and does not carry over to
// IPv6, and stride-8 tries grow to hundreds of MB for 100,000 scattered prefixes (estimated,
// one 256-slot node per level per prefix). A branch-free bucket search measured the same
// within noise, so the plain binary search stays.
//
// IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 client) is
// looked up as IPv4, and the Builder files an IPv6 prefix inside ::ffff:0:0/96 that is /96 or
// longer as the IPv4 prefix it names. Shorter IPv6 prefixes (::/0 included) cover IPv6
// clients only.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "policy/cidr.h"

namespace sinkhole::policy {

class ClientGroups {
 public:
  static constexpr uint32_t kNoGroup = 0xFFFFFFFF;

  ClientGroups();  // matches nothing

  // AF_INET (sockaddr_in) or AF_INET6 (sockaddr_in6); any other family or null → kNoGroup.
  uint32_t lookup(const sockaddr* addr) const noexcept;
  // `host_order`: the address as a number, 10.0.0.1 = 0x0A000001.
  uint32_t lookup_v4(uint32_t host_order) const noexcept;
  // `addr`: 16 bytes in network order.
  uint32_t lookup_v6(const uint8_t* addr) const noexcept;

  // Distinct prefixes added (after folding IPv4-mapped ones into IPv4).
  size_t prefix_count() const { return prefix_count_; }
  // Bytes of the lookup structures (entries and indexes of both families).
  size_t memory_bytes() const;

  class Builder;

 private:
  template <typename Key>
  struct Entry {
    Key start;
    uint32_t group;
  };
  // The IPv6 key is stored as two halves so an entry is 24 bytes rather than the 32 that
  // unsigned __int128's 16-byte alignment would make it.
  struct Key6 {
    uint64_t hi;
    uint64_t lo;
  };

  template <typename Key, typename Stored>
  struct Table {
    std::vector<Entry<Stored>> entries;
    std::vector<uint32_t> index;
    Key region_first = 0;  // first and last address of the indexed region
    Key region_last = 0;
    int index_shift = 0;  // address >> index_shift, masked, is the bucket
    uint32_t index_mask = 0;
  };

  using Table4 = Table<uint32_t, uint32_t>;
  using Table6 = Table<unsigned __int128, Key6>;

  template <typename Key, typename Stored>
  static uint32_t find(const Table<Key, Stored>& table, Key address) noexcept;

  Table4 v4_;
  Table6 v6_;
  size_t prefix_count_ = 0;
};

// Collects (prefix, group) pairs, then lays out the table. Not thread-safe; one per reload.
class ClientGroups::Builder {
 public:
  // False with a message when `cidr` is malformed (unknown family, length too long, host bits
  // set), when `group` is kNoGroup, or when the same prefix was already given to another group
  // (the message names both ids). The same prefix again for the same group is accepted.
  bool add(const Cidr& cidr, uint32_t group, std::string* error);

  // Lays out the table from everything added; leaves the builder empty.
  ClientGroups build();

 private:
  // Prefix as added (family, network bytes, length) → group; also the duplicate check.
  struct PrefixKey {
    int family;
    std::array<uint8_t, 16> addr;
    uint8_t prefix;
    bool operator==(const PrefixKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const PrefixKey& k) {
      return H::combine(std::move(h), k.family, k.addr, k.prefix);
    }
  };
  absl::flat_hash_map<PrefixKey, uint32_t> prefixes_;
};

}  // namespace sinkhole::policy
