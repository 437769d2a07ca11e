// SPDX-License-Identifier: MIT
// ClientGroups: longest-prefix match for IPv4 and IPv6 (nested prefixes, /0, host routes,
// the top and bottom of the address space), IPv4-mapped IPv6 clients, the Builder's
// rejections, and 100,000 random prefixes checked against a linear scan.
#include "policy/client_groups.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using sinkhole::policy::Cidr;
using sinkhole::policy::ClientGroups;
using sinkhole::policy::parse_cidr;

constexpr uint32_t kNoGroup = ClientGroups::kNoGroup;

Cidr cidr(const char* text) {
  std::string error;
  const auto parsed = parse_cidr(text, &error);
  INFO(text, ": ", error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

// Builds from "prefix → group" pairs, each of which must be accepted.
ClientGroups make(std::initializer_list<std::pair<const char*, uint32_t>> prefixes) {
  ClientGroups::Builder builder;
  for (const auto& prefix : prefixes) {
    // Not a structured binding: INFO's lambda captures `text` (clang 14 refuses).
    const char* text = prefix.first;
    const uint32_t group = prefix.second;
    std::string error;
    INFO(text, ": ", error);
    REQUIRE(builder.add(cidr(text), group, &error));
  }
  return builder.build();
}

// Looks `address` up through every entry point that can take it and requires them to agree:
// lookup(sockaddr_in or sockaddr_in6) and lookup_v4 / lookup_v6.
uint32_t group_of(const ClientGroups& groups, const char* address) {
  INFO(address);
  sockaddr_storage storage{};
  if (std::strchr(address, ':') == nullptr) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, address, &sin->sin_addr) == 1);
    const uint32_t direct = groups.lookup_v4(ntohl(sin->sin_addr.s_addr));
    CHECK(groups.lookup(reinterpret_cast<const sockaddr*>(sin)) == direct);
    return direct;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
  sin6->sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1);
  const uint32_t direct = groups.lookup_v6(sin6->sin6_addr.s6_addr);
  CHECK(groups.lookup(reinterpret_cast<const sockaddr*>(sin6)) == direct);
  return direct;
}

struct Expect {
  const char* address;
  uint32_t group;
};

void check_all(const ClientGroups& groups, std::initializer_list<Expect> expects) {
  for (const Expect& e : expects) {
    CAPTURE(e.address);
    CHECK(group_of(groups, e.address) == e.group);
  }
}

TEST_CASE("an empty table matches nobody") {
  const ClientGroups unbuilt;
  const ClientGroups built = ClientGroups::Builder().build();
  for (const ClientGroups* groups : {&unbuilt, &built}) {
    CHECK(groups->prefix_count() == 0);
    check_all(*groups, {{"0.0.0.0", kNoGroup},
                        {"10.1.2.3", kNoGroup},
                        {"255.255.255.255", kNoGroup},
                        {"::", kNoGroup},
                        {"2001:db8::1", kNoGroup},
                        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", kNoGroup}});
  }
}

TEST_CASE("IPv4 prefixes and host routes") {
  const ClientGroups groups =
      make({{"10.0.0.0/8", 1}, {"192.0.2.0/24", 2}, {"192.0.2.7", 3}, {"198.51.100.0/25", 4}});
  CHECK(groups.prefix_count() == 4);
  check_all(groups, {{"10.0.0.0", 1},
                     {"10.123.45.67", 1},
                     {"10.255.255.255", 1},
                     {"9.255.255.255", kNoGroup},
                     {"11.0.0.0", kNoGroup},
                     {"192.0.2.0", 2},
                     {"192.0.2.6", 2},
                     {"192.0.2.7", 3},
                     {"192.0.2.8", 2},
                     {"192.0.2.255", 2},
                     {"192.0.3.0", kNoGroup},
                     {"192.0.1.255", kNoGroup},
                     {"198.51.100.127", 4},
                     {"198.51.100.128", kNoGroup},
                     {"0.0.0.0", kNoGroup},
                     {"255.255.255.255", kNoGroup}});
}

TEST_CASE("overlapping prefixes: the longest wins") {
  // Five levels under 10/8, including inner prefixes that start or end where their parent
  // does, and a sibling whose group equals its parent's.
  const ClientGroups groups = make({{"10.0.0.0/8", 1},
                                    {"10.0.0.0/16", 2},
                                    {"10.0.0.0/24", 3},
                                    {"10.0.0.0/32", 4},
                                    {"10.255.255.0/24", 5},
                                    {"10.255.255.255/32", 6},
                                    {"10.1.0.0/16", 1},
                                    {"10.1.2.0/24", 7},
                                    {"10.128.0.0/9", 8},
                                    {"10.128.0.0/10", 9}});
  check_all(groups, {{"10.0.0.0", 4},        {"10.0.0.1", 3},
                     {"10.0.0.255", 3},      {"10.0.1.0", 2},
                     {"10.0.255.255", 2},    {"10.1.0.0", 1},
                     {"10.1.2.0", 7},        {"10.1.2.255", 7},
                     {"10.1.3.0", 1},        {"10.2.0.0", 1},
                     {"10.127.255.255", 1},  {"10.128.0.0", 9},
                     {"10.191.255.255", 9},  {"10.192.0.0", 8},
                     {"10.255.254.255", 8},  {"10.255.255.0", 5},
                     {"10.255.255.254", 5},  {"10.255.255.255", 6},
                     {"11.0.0.0", kNoGroup}, {"9.255.255.255", kNoGroup}});
}

TEST_CASE("/0 matches every address of its family only") {
  const ClientGroups groups = make({{"0.0.0.0/0", 7},
                                    {"10.0.0.0/8", 1},
                                    {"255.255.255.255/32", 2},
                                    {"0.0.0.0/32", 3},
                                    {"::/0", 8},
                                    {"2001:db8::/32", 4},
                                    {"::/128", 5},
                                    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 6}});
  check_all(groups, {{"0.0.0.0", 3},
                     {"0.0.0.1", 7},
                     {"9.255.255.255", 7},
                     {"10.9.8.7", 1},
                     {"11.0.0.0", 7},
                     {"255.255.255.254", 7},
                     {"255.255.255.255", 2},
                     {"::", 5},
                     {"::1", 8},
                     {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 8},
                     {"2001:db8::", 4},
                     {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 4},
                     {"2001:db9::", 8},
                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 8},
                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6},
                     // An IPv4 client on a dual-stack socket is an IPv4 client: 0.0.0.0/0.
                     {"::ffff:10.1.1.1", 1},
                     {"::ffff:11.1.1.1", 7}});

  const ClientGroups v6_only = make({{"::/0", 8}});
  check_all(v6_only, {{"::", 8},
                      {"2001:db8::1", 8},
                      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8},
                      {"10.0.0.1", kNoGroup},
                      {"::ffff:10.0.0.1", kNoGroup}});
  const ClientGroups v4_only = make({{"0.0.0.0/0", 7}});
  check_all(v4_only, {{"0.0.0.0", 7},
                      {"255.255.255.255", 7},
                      {"::ffff:10.0.0.1", 7},
                      {"::", kNoGroup},
                      {"2001:db8::1", kNoGroup}});
}

TEST_CASE("a lone prefix at the top or bottom of the address space") {
  // With one prefix the table's index covers only a sliver around it; addresses above and
  // below that sliver are answered without the index and must still see the prefix.
  struct Case {
    const char* prefix;
    std::initializer_list<Expect> expects;
  };
  const Case cases[] = {
      {"255.255.255.0/24",
       {{"255.255.255.0", 1},
        {"255.255.255.200", 1},
        {"255.255.255.255", 1},
        {"255.255.254.255", kNoGroup},
        {"0.0.0.0", kNoGroup}}},
      {"0.0.0.0/24",
       {{"0.0.0.0", 1}, {"0.0.0.200", 1}, {"0.0.1.0", kNoGroup}, {"255.255.255.255", kNoGroup}}},
      {"128.0.0.0/1", {{"128.0.0.0", 1}, {"255.255.255.255", 1}, {"127.255.255.255", kNoGroup}}},
      {"ffff::/16",
       {{"ffff::", 1}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1}, {"fffe::", kNoGroup}}},
      {"::/16", {{"::", 1}, {"0:ffff::", 1}, {"1::", kNoGroup}}},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
       {{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffc8", 1},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff", kNoGroup}}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.prefix);
    ClientGroups::Builder builder;
    REQUIRE(builder.add(cidr(c.prefix), 1, nullptr));
    check_all(builder.build(), c.expects);
  }
}

TEST_CASE("IPv6 prefixes, nested, and /128 host routes") {
  const ClientGroups groups = make({{"2001:db8::/32", 1},
                                    {"2001:db8:1::/48", 2},
                                    {"2001:db8:1:2::/64", 3},
                                    {"2001:db8:1:2::53/128", 4},
                                    {"::1/128", 5},
                                    {"fe80::/10", 6},
                                    {"2001:db8:8000::/33", 7}});
  check_all(groups, {{"2001:db8::", 1},
                     {"2001:db8::1", 1},
                     {"2001:db8:0:ffff::", 1},
                     {"2001:db8:1::", 2},
                     {"2001:db8:1:1:ffff:ffff:ffff:ffff", 2},
                     {"2001:db8:1:2::", 3},
                     {"2001:db8:1:2::52", 3},
                     {"2001:DB8:1:2::53", 4},
                     {"2001:db8:1:2::54", 3},
                     {"2001:db8:1:3::", 2},
                     {"2001:db8:2::", 1},
                     {"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", 1},
                     {"2001:db8:8000::", 7},
                     {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 7},
                     {"2001:db9::", kNoGroup},
                     {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", kNoGroup},
                     {"::1", 5},
                     {"::2", kNoGroup},
                     {"::", kNoGroup},
                     {"fe80::1", 6},
                     {"febf:ffff::", 6},
                     {"fec0::", kNoGroup},
                     // The IPv4 table is separate: 0.0.0.1 is not ::1.
                     {"0.0.0.1", kNoGroup}});
}

TEST_CASE("IPv4-mapped IPv6 clients and prefixes are IPv4") {
  ClientGroups::Builder builder;
  std::string error;
  REQUIRE(builder.add(cidr("192.0.2.0/24"), 2, &error));
  REQUIRE(builder.add(cidr("::ffff:10.0.0.0/104"), 1, &error));  // = 10.0.0.0/8
  REQUIRE(builder.add(cidr("::ffff:0:0/96"), 9, &error));        // = 0.0.0.0/0
  REQUIRE(builder.add(cidr("::fffe:0:0/95"), 3, &error));        // shorter: IPv6 clients only
  // 10.0.0.0/8 is now taken: the mapped and plain forms are one prefix.
  CHECK_FALSE(builder.add(cidr("10.0.0.0/8"), 4, &error));
  CHECK(error == "client prefix 10.0.0.0/8 is already in group 1; it cannot also be in group 4");
  CHECK(builder.add(cidr("10.0.0.0/8"), 1, &error));
  const ClientGroups groups = builder.build();
  CHECK(groups.prefix_count() == 4);
  check_all(groups, {{"::ffff:192.0.2.5", 2},
                     {"192.0.2.5", 2},
                     {"::ffff:10.20.30.40", 1},
                     {"10.20.30.40", 1},
                     {"::ffff:11.0.0.1", 9},
                     {"11.0.0.1", 9},
                     {"::fffe:1:1", 3},
                     {"::1:ffff:a00:1", kNoGroup},  // not mapped: bytes 8..9 are not zero
                     {"::a00:1", kNoGroup},         // IPv4-compatible (deprecated) is not mapped
                     {"::ffff:0:0:0", kNoGroup}});
}

TEST_CASE("lookup(sockaddr) refuses null and foreign families") {
  const ClientGroups groups = make({{"0.0.0.0/0", 1}, {"::/0", 2}});
  CHECK(groups.lookup(nullptr) == kNoGroup);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  CHECK(groups.lookup(reinterpret_cast<const sockaddr*>(&un)) == kNoGroup);
  sockaddr_storage unspec{};
  unspec.ss_family = AF_UNSPEC;
  CHECK(groups.lookup(reinterpret_cast<const sockaddr*>(&unspec)) == kNoGroup);
  CHECK(group_of(groups, "1.2.3.4") == 1);  // the same table does answer its families
  CHECK(group_of(groups, "2001:db8::") == 2);
}

TEST_CASE("Builder: one prefix cannot belong to two groups") {
  ClientGroups::Builder builder;
  std::string error;
  REQUIRE(builder.add(cidr("10.0.0.0/8"), 1, &error));
  CHECK(builder.add(cidr("10.0.0.0/8"), 1, &error));  // repeated for its own group: fine
  CHECK_FALSE(builder.add(cidr("10.0.0.0/8"), 2, &error));
  CHECK(error == "client prefix 10.0.0.0/8 is already in group 1; it cannot also be in group 2");
  REQUIRE(builder.add(cidr("2001:DB8::/32"), 17, &error));
  CHECK_FALSE(builder.add(cidr("2001:db8::/32"), 42, &error));
  CHECK(error ==
        "client prefix 2001:db8::/32 is already in group 17; it cannot also be in group 42");
  // Same address, other length, or other family: different prefixes.
  CHECK(builder.add(cidr("10.0.0.0/9"), 2, &error));
  CHECK(builder.add(cidr("::a00:0/104"), 3, &error));
  const ClientGroups groups = builder.build();
  CHECK(groups.prefix_count() == 4);
  check_all(groups, {{"10.200.0.0", 1},  // the rejected add left group 1 in place
                     {"10.1.0.0", 2},
                     {"2001:db8::1", 17},
                     {"::a00:1", 3}});
}

TEST_CASE("Builder: malformed prefixes and the reserved group id") {
  ClientGroups::Builder builder;
  std::string error;
  Cidr host_bits = cidr("10.0.0.0/8");
  host_bits.addr[3] = 1;
  CHECK_FALSE(builder.add(host_bits, 1, &error));
  CHECK(error == "client prefix 10.0.0.1/8: host bits set");
  Cidr too_long = cidr("10.0.0.0/32");
  too_long.prefix = 33;
  CHECK_FALSE(builder.add(too_long, 1, &error));
  CHECK(error == "client prefix 10.0.0.0/33: length longer than 32 bits");
  Cidr v6_too_long = cidr("::/128");
  v6_too_long.prefix = 129;
  CHECK_FALSE(builder.add(v6_too_long, 1, &error));
  CHECK(error == "client prefix ::/129: length longer than 128 bits");
  Cidr no_family = cidr("10.0.0.0/8");
  no_family.family = AF_UNIX;
  CHECK_FALSE(builder.add(no_family, 1, &error));
  CHECK(error == "client prefix has unknown family " + std::to_string(AF_UNIX));
  CHECK_FALSE(builder.add(cidr("10.0.0.0/8"), kNoGroup, &error));
  CHECK(error == "client prefix 10.0.0.0/8: group id 4294967295 is reserved for \"no group\"");
  CHECK(builder.add(cidr("10.0.0.0/8"), 1, nullptr));
  CHECK_FALSE(builder.add(cidr("10.0.0.0/8"), 2, nullptr));  // null error pointer is allowed
  const ClientGroups groups = builder.build();
  CHECK(groups.prefix_count() == 1);
  CHECK(group_of(groups, "10.0.0.1") == 1);
}

TEST_CASE("build() empties the Builder for the next reload") {
  ClientGroups::Builder builder;
  REQUIRE(builder.add(cidr("10.0.0.0/8"), 1, nullptr));
  const ClientGroups first = builder.build();
  CHECK(group_of(first, "10.0.0.1") == 1);
  REQUIRE(builder.add(cidr("10.0.0.0/8"), 2, nullptr));  // no conflict with the old content
  const ClientGroups second = builder.build();
  CHECK(group_of(second, "10.0.0.1") == 2);
  CHECK(group_of(first, "10.0.0.1") == 1);  // the first table is independent
  const ClientGroups third = builder.build();
  CHECK(group_of(third, "10.0.0.1") == kNoGroup);
}

// The oracle: every accepted prefix in a list, scanned in full for each address.
struct NaivePrefix {
  uint64_t hi, lo;            // network; IPv4 in `lo`'s low 32 bits
  uint64_t mask_hi, mask_lo;  // network bits set
  int length;
  uint32_t group;
};

uint32_t naive_lookup(const std::vector<NaivePrefix>& prefixes, uint64_t hi, uint64_t lo) {
  int best = -1;
  uint32_t group = kNoGroup;
  for (const NaivePrefix& p : prefixes) {
    if (((hi ^ p.hi) & p.mask_hi) == 0 && ((lo ^ p.lo) & p.mask_lo) == 0 && p.length > best) {
      best = p.length;
      group = p.group;
    }
  }
  return group;
}

uint64_t top_bits(int n) {
  return n <= 0 ? 0 : n >= 64 ? ~uint64_t{0} : ~(~uint64_t{0} >> n);
}

void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

TEST_CASE("100,000 random prefixes agree with a linear scan on 10,000 addresses") {
  std::mt19937_64 rng(20240515);
  auto below = [&](uint64_t n) { return rng() % n; };

  ClientGroups::Builder builder;
  std::vector<NaivePrefix> v4, v6;
  int conflicts = 0;
  // A fresh prefix, or (half the time) one nested inside an earlier prefix, so that chains of
  // overlaps several deep are common. Groups come from a small range so that neighbours and
  // parent/child pairs often share one, and a repeated prefix often names another group.
  for (int i = 0; v4.size() + v6.size() < 100'000; ++i) {
    const bool is_v6 = i % 5 >= 3;  // 60,000 IPv4, 40,000 IPv6
    std::vector<NaivePrefix>& list = is_v6 ? v6 : v4;
    const int max_length = is_v6 ? 128 : 32;
    uint64_t hi = rng(), lo = rng();
    int length;
    const NaivePrefix* parent = list.empty() ? nullptr : &list[below(list.size())];
    if (parent && parent->length < max_length && below(2) == 0) {
      length = std::min<int>(max_length, parent->length + 1 + static_cast<int>(below(16)));
      hi = parent->hi | (hi & ~parent->mask_hi);
      lo = parent->lo | (lo & ~parent->mask_lo);
    } else if (is_v6) {
      length =
          below(500) == 0 ? 16 + static_cast<int>(below(16)) : 32 + static_cast<int>(below(97));
    } else {
      length = below(500) == 0 ? 8 + static_cast<int>(below(8)) : 16 + static_cast<int>(below(17));
    }
    NaivePrefix p{};
    p.length = length;
    p.group = static_cast<uint32_t>(below(1000));
    if (is_v6) {
      p.mask_hi = top_bits(length);
      p.mask_lo = top_bits(length - 64);
      p.hi = hi & p.mask_hi;
      p.lo = lo & p.mask_lo;
    } else {
      p.mask_lo = top_bits(length) >> 32;
      p.lo = lo & p.mask_lo;
    }

    Cidr c;
    c.prefix = static_cast<uint8_t>(length);
    if (is_v6) {
      c.family = AF_INET6;
      store_be64(c.addr.data(), p.hi);
      store_be64(c.addr.data() + 8, p.lo);
      // Mapped prefixes would land in the IPv4 table; keep the two families apart here.
      if (p.hi == 0 && (p.lo >> 32) == 0xFFFF) continue;
    } else {
      c.family = AF_INET;
      const uint32_t network = htonl(static_cast<uint32_t>(p.lo));
      std::memcpy(c.addr.data(), &network, 4);
    }
    std::string error;
    if (builder.add(c, p.group, &error)) {
      list.push_back(p);  // a repeat for the same group only repeats the scan's answer
    } else {
      ++conflicts;
      CHECK(error.find("is already in group") != std::string::npos);
    }
  }
  CHECK(conflicts > 0);  // the generator did exercise the duplicate rule

  const auto start = std::chrono::steady_clock::now();
  const ClientGroups groups = builder.build();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  MESSAGE("built ", groups.prefix_count(), " prefixes in ",
          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), " ms, ",
          groups.memory_bytes() / 1024, " KiB");
  // Repeats for the same group were accepted into the lists twice; the table counts one.
  std::vector<std::tuple<bool, uint64_t, uint64_t, int>> distinct;
  for (const auto* list : {&v4, &v6}) {
    for (const NaivePrefix& p : *list) distinct.emplace_back(list == &v6, p.hi, p.lo, p.length);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  CHECK(groups.prefix_count() == distinct.size());
  CHECK(groups.prefix_count() > 99'000);

  // Addresses: half inside a random prefix (random host bits, so often inside a nested
  // child too), half uniformly random; a quarter of the IPv4 ones asked as ::ffff:a.b.c.d.
  int hits = 0, misses = 0, mismatches = 0;
  for (int i = 0; i < 10'000; ++i) {
    const bool is_v6 = i % 2 == 1;
    const std::vector<NaivePrefix>& list = is_v6 ? v6 : v4;
    uint64_t hi = rng(), lo = rng();
    if (below(2) == 0) {
      const NaivePrefix& p = list[below(list.size())];
      hi = p.hi | (hi & ~p.mask_hi);
      lo = p.lo | (lo & ~p.mask_lo);
    }
    uint32_t got;
    if (is_v6) {
      uint8_t bytes[16];
      store_be64(bytes, hi);
      store_be64(bytes + 8, lo);
      got = groups.lookup_v6(bytes);
    } else {
      hi = 0;
      lo &= 0xFFFFFFFF;
      got = groups.lookup_v4(static_cast<uint32_t>(lo));
      if (i % 4 == 0) {
        uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        const uint32_t network = htonl(static_cast<uint32_t>(lo));
        std::memcpy(mapped + 12, &network, 4);
        CHECK(groups.lookup_v6(mapped) == got);
      }
    }
    const uint32_t want = naive_lookup(list, hi, lo);
    if (got != want) {
      ++mismatches;
      if (mismatches <= 10) {
        INFO("v6=", is_v6, " hi=", hi, " lo=", lo);
        CHECK(got == want);
      }
    }
    (want == kNoGroup ? misses : hits)++;
  }
  CHECK(mismatches == 0);
  MESSAGE(hits, " hits, ", misses, " misses");
  CHECK(hits > 3000);  // both outcomes were exercised
  CHECK(misses > 1000);
}

}  // namespace
