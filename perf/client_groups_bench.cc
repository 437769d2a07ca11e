// SPDX-License-Identifier: MIT
// Issue 5 benchmark: client-group longest-prefix match (policy/client_groups) with 100,000
// prefixes (fixed seed): 50,000 IPv4 of /8../32 and 50,000 IPv6 of /32../128 inside 2000::/3,
// a third of each nested inside an earlier one, as ISP pools are. Measured:
//   - build: Builder::add of every prefix, then build();
//   - lookup latency for IPv4 and IPv6 addresses that hit (inside a random prefix) and that
//     miss (no prefix covers them), through lookup_v4 / lookup_v6 and lookup(sockaddr);
//     each address depends on the previous answer, so the figure is latency, not overlap;
//   - IPv6 clustered: 50,000 prefixes all under 2001:db8::/32, the shape of a real ISP's
//     IPv6 plan, to show the index follows the data rather than the top address bits;
//   - baseline: one absl::flat_hash_map per prefix length present, probed from the longest
//     down (the other design the header of client_groups.h weighs), same prefixes and addresses.
// Run: build/perf/client_groups_bench [--benchmark_filter=...]
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "policy/cidr.h"
#include "policy/client_groups.h"

namespace sp = sinkhole::policy;

namespace {

constexpr uint32_t kNoGroup = sp::ClientGroups::kNoGroup;
constexpr size_t kPrefixesPerFamily = 50'000;
constexpr size_t kAddresses = 1 << 16;  // per address set; cycled through

using Bytes16 = std::array<uint8_t, 16>;

uint64_t top_bits(int n) {
  return n <= 0 ? 0 : n >= 64 ? ~uint64_t{0} : ~(~uint64_t{0} >> n);
}

void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// A prefix as (hi, lo) = the 128 address bits; IPv4 in the top 32 bits of `hi`.
struct RawPrefix {
  uint64_t hi, lo;
  int length;
  uint32_t group;
};

sp::Cidr to_cidr(const RawPrefix& p, bool v6) {
  sp::Cidr c;
  c.family = v6 ? AF_INET6 : AF_INET;
  c.prefix = static_cast<uint8_t>(p.length);
  store_be64(c.addr.data(), p.hi);
  if (v6) store_be64(c.addr.data() + 8, p.lo);
  return c;
}

// `count` prefixes: lengths drawn by `pick_length`, fresh ones under `base`/`base_length`,
// a third nested 1..12 bits inside an earlier one.
template <typename PickLength>
std::vector<RawPrefix> generate(std::mt19937_64& rng, size_t count, int max_length, uint64_t base,
                                int base_length, PickLength pick_length) {
  std::vector<RawPrefix> out;
  out.reserve(count);
  absl::flat_hash_set<std::tuple<uint64_t, uint64_t, int>> seen;  // distinct prefixes only
  while (out.size() < count) {
    uint64_t hi = rng(), lo = rng();
    int length;
    const RawPrefix* parent = out.empty() ? nullptr : &out[rng() % out.size()];
    if (parent && parent->length < max_length && rng() % 3 == 0) {
      length = std::min(max_length, parent->length + 1 + static_cast<int>(rng() % 12));
      hi = parent->hi | (hi & ~top_bits(parent->length));
      lo = parent->lo | (lo & ~top_bits(parent->length - 64));
    } else {
      length = pick_length();
      hi = (base & top_bits(base_length)) | (hi & ~top_bits(base_length));
    }
    RawPrefix p{hi & top_bits(length), lo & top_bits(length - 64), length,
                static_cast<uint32_t>(rng() % 1000)};
    if (max_length == 32) p.lo = 0;
    if (seen.insert({p.hi, p.lo, p.length}).second) out.push_back(p);
  }
  return out;
}

// The baseline: per-length exact-match tables, longest length first.
class PerLengthHash {
 public:
  void add(const RawPrefix& p, bool v6) {
    auto& tables = v6 ? v6_ : v4_;
    tables[p.length].emplace(std::make_pair(p.hi, p.lo), p.group);
  }
  void finish() {
    for (int len = 128; len >= 0; --len) {
      if (!v6_[len].empty()) v6_lengths_.push_back(len);
      if (len <= 32 && !v4_[len].empty()) v4_lengths_.push_back(len);
    }
  }
  uint32_t lookup(uint64_t hi, uint64_t lo, bool v6) const {
    const auto& tables = v6 ? v6_ : v4_;
    for (int len : v6 ? v6_lengths_ : v4_lengths_) {
      const auto it = tables[len].find({hi & top_bits(len), lo & top_bits(len - 64)});
      if (it != tables[len].end()) return it->second;
    }
    return kNoGroup;
  }

 private:
  using Map = absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint32_t>;
  std::array<Map, 129> v4_, v6_;
  std::vector<int> v4_lengths_, v6_lengths_;
};

struct Fixture {
  std::vector<RawPrefix> v4, v6, v6_clustered;
  sp::ClientGroups groups, clustered;
  PerLengthHash baseline;
  // Addresses as (hi, lo); IPv4 in hi's top 32 bits.
  std::vector<std::pair<uint64_t, uint64_t>> v4_hit, v4_miss, v6_hit, v6_miss, v6_clustered_hit;

  Fixture() {
    std::mt19937_64 rng(5);
    // IPv4: a few short aggregates, mostly customer pools /20../28, some single hosts.
    v4 = generate(rng, kPrefixesPerFamily, 32, 0, 0, [&] {
      const uint64_t r = rng() % 1000;
      if (r < 2) return 8 + static_cast<int>(rng() % 5);     // /8../12
      if (r < 150) return 13 + static_cast<int>(rng() % 7);  // /13../19
      if (r < 760) return 20 + static_cast<int>(rng() % 9);  // /20../28
      return 29 + static_cast<int>(rng() % 4);               // /29../32
    });
    v6 = generate(rng, kPrefixesPerFamily, 128, uint64_t{0x2} << 60, 3,
                  [&] { return 32 + static_cast<int>(rng() % 97); });
    v6_clustered = generate(rng, kPrefixesPerFamily, 128, uint64_t{0x20010db8} << 32, 32,
                            [&] { return 40 + static_cast<int>(rng() % 25); });  // /40../64
    groups = build(v4, v6);
    clustered = build({}, v6_clustered);
    for (const RawPrefix& p : v4) baseline.add(p, false);
    for (const RawPrefix& p : v6) baseline.add(p, true);
    baseline.finish();

    auto inside = [&](const std::vector<RawPrefix>& list, bool v6) {
      const RawPrefix& p = list[rng() % list.size()];
      const uint64_t hi = p.hi | (rng() & ~top_bits(p.length));
      const uint64_t lo = v6 ? p.lo | (rng() & ~top_bits(p.length - 64)) : 0;
      return std::make_pair(v6 ? hi : hi & top_bits(32), lo);
    };
    while (v4_hit.size() < kAddresses) v4_hit.push_back(inside(v4, false));
    while (v6_hit.size() < kAddresses) v6_hit.push_back(inside(v6, true));
    while (v6_clustered_hit.size() < kAddresses)
      v6_clustered_hit.push_back(inside(v6_clustered, true));
    while (v4_miss.size() < kAddresses) {
      const uint64_t hi = rng() & top_bits(32);
      if (groups.lookup_v4(static_cast<uint32_t>(hi >> 32)) == kNoGroup) v4_miss.push_back({hi, 0});
    }
    while (v6_miss.size() < kAddresses) {
      const uint64_t hi = (uint64_t{0x2} << 60) | (rng() >> 3), lo = rng();
      Bytes16 b;
      store_be64(b.data(), hi);
      store_be64(b.data() + 8, lo);
      if (groups.lookup_v6(b.data()) == kNoGroup) v6_miss.push_back({hi, lo});
    }
    // Both designs must give the same answers, or the comparison means nothing.
    for (const auto* set : {&v4_hit, &v4_miss, &v6_hit, &v6_miss}) {
      const bool is_v6 = set == &v6_hit || set == &v6_miss;
      for (size_t i = 0; i < 4096; ++i) {
        const auto [hi, lo] = (*set)[i];
        Bytes16 b;
        store_be64(b.data(), hi);
        store_be64(b.data() + 8, lo);
        const uint32_t got =
            is_v6 ? groups.lookup_v6(b.data()) : groups.lookup_v4(static_cast<uint32_t>(hi >> 32));
        if (got != baseline.lookup(hi, lo, is_v6)) std::abort();
      }
    }
  }

  static sp::ClientGroups build(const std::vector<RawPrefix>& v4s,
                                const std::vector<RawPrefix>& v6s) {
    sp::ClientGroups::Builder builder;
    for (const RawPrefix& p : v4s) builder.add(to_cidr(p, false), p.group, nullptr);
    for (const RawPrefix& p : v6s) builder.add(to_cidr(p, true), p.group, nullptr);
    return builder.build();
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// The next address index depends on the answer, so lookups cannot overlap: latency per lookup.
size_t next(size_t i, uint32_t group) {
  return (i + 1 + (group & 1)) & (kAddresses - 1);
}

void BM_Build(benchmark::State& state) {
  Fixture& f = fixture();
  std::vector<sp::Cidr> cidrs;
  std::vector<uint32_t> ids;
  for (const RawPrefix& p : f.v4) cidrs.push_back(to_cidr(p, false)), ids.push_back(p.group);
  for (const RawPrefix& p : f.v6) cidrs.push_back(to_cidr(p, true)), ids.push_back(p.group);
  size_t bytes = 0, count = 0;
  for (auto _ : state) {
    sp::ClientGroups::Builder builder;
    for (size_t i = 0; i < cidrs.size(); ++i) builder.add(cidrs[i], ids[i], nullptr);
    sp::ClientGroups groups = builder.build();
    bytes = groups.memory_bytes();
    count = groups.prefix_count();
    benchmark::DoNotOptimize(groups);
  }
  state.counters["prefixes"] = static_cast<double>(count);
  state.counters["table_KiB"] = static_cast<double>(bytes) / 1024;
}
BENCHMARK(BM_Build)->Unit(benchmark::kMillisecond);

void BM_BuildPerLengthHash(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    PerLengthHash h;
    for (const RawPrefix& p : f.v4) h.add(p, false);
    for (const RawPrefix& p : f.v6) h.add(p, true);
    h.finish();
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_BuildPerLengthHash)->Unit(benchmark::kMillisecond);

void lookup_v4(benchmark::State& state, const std::vector<std::pair<uint64_t, uint64_t>>& set) {
  const sp::ClientGroups& groups = fixture().groups;
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t g = groups.lookup_v4(static_cast<uint32_t>(set[i].first >> 32));
    benchmark::DoNotOptimize(g);
    i = next(i, g);
  }
}

void lookup_v6(benchmark::State& state, const sp::ClientGroups& groups,
               const std::vector<std::pair<uint64_t, uint64_t>>& set) {
  std::vector<Bytes16> bytes(set.size());
  for (size_t k = 0; k < set.size(); ++k) {
    store_be64(bytes[k].data(), set[k].first);
    store_be64(bytes[k].data() + 8, set[k].second);
  }
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t g = groups.lookup_v6(bytes[i].data());
    benchmark::DoNotOptimize(g);
    i = next(i, g);
  }
}

void BM_V4Hit(benchmark::State& state) {
  lookup_v4(state, fixture().v4_hit);
}
void BM_V4Miss(benchmark::State& state) {
  lookup_v4(state, fixture().v4_miss);
}
void BM_V6Hit(benchmark::State& state) {
  lookup_v6(state, fixture().groups, fixture().v6_hit);
}
void BM_V6Miss(benchmark::State& state) {
  lookup_v6(state, fixture().groups, fixture().v6_miss);
}
void BM_V6ClusteredHit(benchmark::State& state) {
  lookup_v6(state, fixture().clustered, fixture().v6_clustered_hit);
}
BENCHMARK(BM_V4Hit);
BENCHMARK(BM_V4Miss);
BENCHMARK(BM_V6Hit);
BENCHMARK(BM_V6Miss);
BENCHMARK(BM_V6ClusteredHit);

// The worker's entry point: a sockaddr from recvmsg, IPv4 and IPv4-mapped on a dual-stack socket.
void BM_SockaddrV4Hit(benchmark::State& state) {
  const Fixture& f = fixture();
  std::vector<sockaddr_in> addrs(f.v4_hit.size());
  for (size_t k = 0; k < addrs.size(); ++k) {
    addrs[k].sin_family = AF_INET;
    addrs[k].sin_addr.s_addr = htonl(static_cast<uint32_t>(f.v4_hit[k].first >> 32));
  }
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t g = f.groups.lookup(reinterpret_cast<const sockaddr*>(&addrs[i]));
    benchmark::DoNotOptimize(g);
    i = next(i, g);
  }
}
void BM_SockaddrV6MappedHit(benchmark::State& state) {
  const Fixture& f = fixture();
  std::vector<sockaddr_in6> addrs(f.v4_hit.size());
  for (size_t k = 0; k < addrs.size(); ++k) {
    addrs[k] = {};
    addrs[k].sin6_family = AF_INET6;
    const uint32_t v4 = htonl(static_cast<uint32_t>(f.v4_hit[k].first >> 32));
    addrs[k].sin6_addr.s6_addr[10] = 0xFF;
    addrs[k].sin6_addr.s6_addr[11] = 0xFF;
    std::memcpy(&addrs[k].sin6_addr.s6_addr[12], &v4, 4);
  }
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t g = f.groups.lookup(reinterpret_cast<const sockaddr*>(&addrs[i]));
    benchmark::DoNotOptimize(g);
    i = next(i, g);
  }
}
BENCHMARK(BM_SockaddrV4Hit);
BENCHMARK(BM_SockaddrV6MappedHit);

void baseline(benchmark::State& state, const std::vector<std::pair<uint64_t, uint64_t>>& set,
              bool v6) {
  const PerLengthHash& h = fixture().baseline;
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t g = h.lookup(set[i].first, set[i].second, v6);
    benchmark::DoNotOptimize(g);
    i = next(i, g);
  }
}
void BM_PerLengthHash_V4Hit(benchmark::State& s) {
  baseline(s, fixture().v4_hit, false);
}
void BM_PerLengthHash_V4Miss(benchmark::State& s) {
  baseline(s, fixture().v4_miss, false);
}
void BM_PerLengthHash_V6Hit(benchmark::State& s) {
  baseline(s, fixture().v6_hit, true);
}
void BM_PerLengthHash_V6Miss(benchmark::State& s) {
  baseline(s, fixture().v6_miss, true);
}
BENCHMARK(BM_PerLengthHash_V4Hit);
BENCHMARK(BM_PerLengthHash_V4Miss);
BENCHMARK(BM_PerLengthHash_V6Hit);
BENCHMARK(BM_PerLengthHash_V6Miss);

}  // namespace

BENCHMARK_MAIN();
