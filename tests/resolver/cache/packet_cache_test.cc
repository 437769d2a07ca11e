// SPDX-License-Identifier: MIT
// PacketCache: what is cached (positive, RFC 2308 negative with a SOA; not SERVFAIL, REFUSED,
// TC, SOA-less negatives, TTL 0, oversized), for how long (min TTL, SOA minimum, clamps),
// what a hit returns (the upstream message, parseable and rewritable, TTLs aged by whole
// elapsed seconds and never raised), the key (case-insensitive name, type, class, DO, CD),
// serve-stale, the byte bound with CLOCK keeping a hot entry, and flush.
#include "resolver/cache/packet_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "resolver/dns/message_view.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/response_rewriter.h"
#include "tests/resolver/dns/test_packet.h"

namespace {

using CacheKey = sinkhole::dns::QuestionKey;
using sinkhole::cache::CacheOptions;
using sinkhole::cache::InsertResult;
using sinkhole::cache::LookupStatus;
using sinkhole::cache::PacketCache;
using sinkhole::test::PacketWriter;
using sinkhole::test::wire_name;

constexpr uint16_t kA = 1, kAaaa = 28, kSoa = 6, kIn = 1, kCh = 3;
constexpr uint16_t kNoError = 0x8180, kNxDomain = 0x8183, kServFail = 0x8182, kRefused = 0x8185,
                   kTc = 0x8380;
constexpr uint64_t kT0 = 1'000'000;  // insert time, ms

// A key owning its name bytes.
struct Key {
  std::vector<uint8_t> name;
  CacheKey k;
  Key(std::string_view qname, uint16_t qtype = kA, bool do_bit = false, bool cd_bit = false,
      uint16_t qclass = kIn)
      : name(wire_name(qname)) {
    k.qname = name.data();
    k.qname_len = name.size();
    k.qtype = qtype;
    k.qclass = qclass;
    k.do_bit = do_bit;
    k.cd_bit = cd_bit;
  }
  Key(const Key& o) : Key("x.") { *this = o; }
  Key& operator=(const Key& o) {
    name = o.name;
    k = o.k;
    k.qname = name.data();
    return *this;
  }
};

// NOERROR with one A record per TTL (owner: pointer to the question), optional OPT.
PacketWriter positive(std::string_view qname, const std::vector<uint32_t>& ttls,
                      uint16_t flags = kNoError, bool with_opt = false, uint16_t qtype = kA) {
  PacketWriter p;
  p.header(0xBEEF, flags, 1, static_cast<uint16_t>(ttls.size()), 0, with_opt ? 1 : 0)
      .question(qname, qtype);
  uint8_t i = 1;
  for (uint32_t ttl : ttls) p.pointer(12).rr_tail(kA, kIn, ttl, {192, 0, 2, i++});
  if (with_opt) p.opt(1232, 0, 0, true);
  return p;
}

std::vector<uint8_t> soa_rdata(uint32_t minimum) {
  std::vector<uint8_t> r = wire_name("ns1.example.com.");
  const auto rname = wire_name("hostmaster.example.com.");
  r.insert(r.end(), rname.begin(), rname.end());
  for (uint32_t v : {2024010101u, 7200u, 3600u, 1209600u, minimum}) {
    for (int s = 24; s >= 0; s -= 8) r.push_back(static_cast<uint8_t>(v >> s));
  }
  return r;
}

// NXDOMAIN or NODATA (by flags) with a SOA in authority, or none.
PacketWriter negative(std::string_view qname, uint16_t flags, bool with_soa, uint32_t soa_ttl,
                      uint32_t minimum) {
  PacketWriter p;
  p.header(0xBEEF, flags, 1, 0, with_soa ? 1 : 0, 0).question(qname, kA);
  if (with_soa) p.name("example.com.").rr_tail(kSoa, kIn, soa_ttl, soa_rdata(minimum));
  return p;
}

InsertResult put(PacketCache& c, const Key& key, const PacketWriter& resp, uint64_t now = kT0) {
  const auto m = sinkhole::dns::parse_message(resp.data(), resp.size());
  REQUIRE(m.ok);
  return c.insert(key.k, resp.data(), m, now);
}

struct Got {
  sinkhole::cache::Lookup l;
  std::vector<uint8_t> out;
  sinkhole::dns::MessageView m;
  // TTL of the i-th record (answer, authority, additional in order).
  uint32_t ttl(size_t i) const {
    size_t pos = m.question_end;
    for (size_t j = 0;; ++j) {
      const auto r = sinkhole::dns::skip_record(out.data(), out.size(), pos);
      REQUIRE(r.end != 0);
      if (j == i) return r.ttl;
      pos = r.end;
    }
  }
};

Got get(PacketCache& c, const Key& key, uint64_t now, bool stale = false) {
  Got g;
  g.out.assign(sinkhole::dns::kMaxMessage, 0xEE);
  g.l = stale ? c.get_stale(key.k, now, g.out.data(), g.out.size())
              : c.get(key.k, now, g.out.data(), g.out.size());
  if (g.l.hit()) {
    g.out.resize(g.l.size);
    g.m = sinkhole::dns::parse_message(g.out.data(), g.out.size());
  }
  return g;
}

TEST_CASE("hit: the upstream message, parseable, TTLs aged by whole seconds, never raised") {
  PacketCache c;
  const Key key("www.example.com.");
  const auto resp = positive("www.example.com.", {300, 100, 200});
  REQUIRE(put(c, key, resp) == InsertResult::kInserted);

  const Got fresh = get(c, key, kT0);
  REQUIRE(fresh.l.status == LookupStatus::kHit);
  CHECK(fresh.l.ttl == 100);  // the minimum of the records
  CHECK(fresh.out == resp.bytes());

  const Got g = get(c, key, kT0 + 42'999);  // 42 whole seconds
  REQUIRE(g.l.status == LookupStatus::kHit);
  REQUIRE(g.m.ok);
  CHECK(g.m.ancount == 3);
  CHECK(g.l.ttl == 58);
  CHECK(g.ttl(0) == 258);
  CHECK(g.ttl(1) == 58);
  CHECK(g.ttl(2) == 158);

  // A clock that stepped back before the insert time ages nothing.
  const Got back = get(c, key, kT0 - 5'000);
  REQUIRE(back.l.status == LookupStatus::kHit);
  CHECK(back.l.ttl == 100);
  CHECK(back.ttl(0) == 300);

  const Got last = get(c, key, kT0 + 99'999);
  REQUIRE(last.l.status == LookupStatus::kHit);
  CHECK(last.l.ttl == 1);
  CHECK(last.ttl(1) == 1);
  CHECK(get(c, key, kT0 + 100'000).l.status == LookupStatus::kMiss);  // expired
}

TEST_CASE("hit feeds rewrite_response: client ID, 0x20 case, our OPT instead of upstream's") {
  PacketCache c;
  const Key key("www.example.com.", kA, /*do_bit=*/true);
  REQUIRE(put(c, key, positive("www.example.com.", {60}, kNoError, /*with_opt=*/true)) ==
          InsertResult::kInserted);

  PacketWriter q;
  q.header(0x1234, 0x0100, 1, 0, 0, 1).question("wWw.ExAmPlE.cOm.", kA).opt(4096, 0, 0, true);
  const auto qv = sinkhole::dns::parse_query(q.data(), q.size());
  REQUIRE(qv.ok());
  // The worker looks up with the client's own (mixed-case) name.
  CacheKey ck{q.data() + qv.qname_off, qv.qname_len, qv.qtype, qv.qclass, qv.do_bit, qv.cd()};
  std::vector<uint8_t> copy(sinkhole::dns::kMaxMessage);
  const auto l = c.get(ck, kT0 + 10'000, copy.data(), copy.size());
  REQUIRE(l.status == LookupStatus::kHit);
  const auto m = sinkhole::dns::parse_message(copy.data(), l.size);
  REQUIRE(m.ok);
  const auto cq = sinkhole::dns::client_query_from(qv, q.data(), 1232, 1232);
  std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
  const auto r = sinkhole::dns::rewrite_response(cq, copy.data(), m, out.data());
  REQUIRE(r.result == sinkhole::dns::RewriteResult::kOk);
  const auto rm = sinkhole::dns::parse_message(out.data(), r.size);
  REQUIRE(rm.ok);
  CHECK(rm.id == 0x1234);
  CHECK(rm.has_opt);
  CHECK(std::string(out.begin() + 12, out.begin() + 12 + qv.qname_len) ==
        std::string(q.data() + 12, q.data() + 12 + qv.qname_len));
  const auto rr = sinkhole::dns::skip_record(out.data(), r.size, rm.question_end);
  CHECK(rr.ttl == 50);
}

TEST_CASE("negative answers: min(SOA TTL, MINIMUM), SOA TTL lowered to it; no SOA, no cache") {
  PacketCache c;
  SUBCASE("NXDOMAIN, MINIMUM below the SOA TTL") {
    const Key key("nope.example.com.");
    REQUIRE(put(c, key, negative("nope.example.com.", kNxDomain, true, 3600, 300)) ==
            InsertResult::kInserted);
    const Got g = get(c, key, kT0 + 10'000);
    REQUIRE(g.l.status == LookupStatus::kHit);
    CHECK(g.l.ttl == 290);
    CHECK(g.m.rcode() == 3);
    CHECK(g.ttl(0) == 290);
    CHECK(get(c, key, kT0 + 300'000).l.status == LookupStatus::kMiss);
  }
  SUBCASE("NODATA, SOA TTL below MINIMUM") {
    const Key key("nodata.example.com.");
    REQUIRE(put(c, key, negative("nodata.example.com.", kNoError, true, 60, 900)) ==
            InsertResult::kInserted);
    const Got g = get(c, key, kT0);
    REQUIRE(g.l.status == LookupStatus::kHit);
    CHECK(g.l.ttl == 60);
    CHECK(g.m.ancount == 0);
    CHECK(get(c, key, kT0 + 60'000).l.status == LookupStatus::kMiss);
  }
  SUBCASE("negative TTL capped by max_negative_ttl") {
    PacketCache small({.max_negative_ttl = 120});
    const Key key("nope.example.com.");
    REQUIRE(put(small, key, negative("nope.example.com.", kNxDomain, true, 86400, 86400)) ==
            InsertResult::kInserted);
    const Got g = get(small, key, kT0);
    CHECK(g.l.ttl == 120);
    CHECK(g.ttl(0) == 120);
  }
  SUBCASE("without SOA") {
    const Key nx("nope.example.com.");
    CHECK(put(c, nx, negative("nope.example.com.", kNxDomain, false, 0, 0)) ==
          InsertResult::kNoSoa);
    CHECK(put(c, nx, negative("nope.example.com.", kNoError, false, 0, 0)) == InsertResult::kNoSoa);
    CHECK(get(c, nx, kT0).l.status == LookupStatus::kMiss);
    CHECK(c.stats().entries == 0);
  }
}

TEST_CASE("not cached: SERVFAIL, REFUSED, TC, TTL 0, too big, another question") {
  PacketCache c({.max_entry_bytes = 200});
  const Key key("www.example.com.");
  CHECK(put(c, key, positive("www.example.com.", {}, kServFail)) == InsertResult::kRcode);
  CHECK(put(c, key, positive("www.example.com.", {}, kRefused)) == InsertResult::kRcode);
  CHECK(put(c, key, positive("www.example.com.", {300}, kTc)) == InsertResult::kTruncated);
  CHECK(put(c, key, positive("www.example.com.", {300, 0})) == InsertResult::kZeroTtl);
  CHECK(put(c, key, positive("www.example.com.", std::vector<uint32_t>(20, 300))) ==
        InsertResult::kTooBig);
  CHECK(put(c, key, positive("other.example.com.", {300})) == InsertResult::kWrongQuestion);
  CHECK(put(c, key, positive("www.example.com.", {300}, kNoError, false, kAaaa)) ==
        InsertResult::kWrongQuestion);
  PacketWriter query;  // QR=0
  query.header(1, 0x0100, 1, 0, 0, 0).question("www.example.com.", kA);
  CHECK(put(c, key, query) == InsertResult::kMalformed);
  CHECK(get(c, key, kT0).l.status == LookupStatus::kMiss);
  CHECK(c.stats().entries == 0);
  CHECK(c.stats().inserts == 0);
}

TEST_CASE("TTL clamps: max_ttl lowers entry and record TTLs; min_ttl never raises a TTL") {
  SUBCASE("max") {
    PacketCache c;
    const Key key("www.example.com.");
    REQUIRE(put(c, key, positive("www.example.com.", {604800})) == InsertResult::kInserted);
    const Got g = get(c, key, kT0);
    CHECK(g.l.ttl == 86400);
    CHECK(g.ttl(0) == 86400);
  }
  SUBCASE("min") {
    PacketCache c({.min_ttl = 60});
    const Key key("www.example.com.");
    REQUIRE(put(c, key, positive("www.example.com.", {10})) == InsertResult::kInserted);
    CHECK(get(c, key, kT0).ttl(0) == 10);
    const Got g = get(c, key, kT0 + 30'000);  // kept past the record TTL ...
    REQUIRE(g.l.status == LookupStatus::kHit);
    CHECK(g.l.ttl == 30);
    CHECK(g.ttl(0) == 0);  // ... but the TTL shown is floored, not raised
    CHECK(get(c, key, kT0 + 60'000).l.status == LookupStatus::kMiss);
  }
}

TEST_CASE("key: name case-insensitive; type, class, DO and CD each separate") {
  PacketCache c;
  const Key stored("www.Example.com.");
  const auto resp = positive("www.Example.com.", {300});
  REQUIRE(put(c, stored, resp) == InsertResult::kInserted);

  CHECK(get(c, Key("WWW.EXAMPLE.COM."), kT0).l.status == LookupStatus::kHit);
  CHECK(get(c, Key("www.example.com."), kT0).l.status == LookupStatus::kHit);
  CHECK(get(c, Key("www.example.com.", kAaaa), kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, Key("www.example.com.", kA, true), kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, Key("www.example.com.", kA, false, true), kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, Key("www.example.com.", kA, false, false, kCh), kT0).l.status ==
        LookupStatus::kMiss);
  CHECK(get(c, Key("www.example.co."), kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, Key("xww.example.com."), kT0).l.status == LookupStatus::kMiss);

  // Keys differing only in DO or CD hold their own answers, never each other's.
  const Key cd("www.example.com.", kA, false, true);
  const Key dobit("www.example.com.", kA, true, false);
  REQUIRE(put(c, cd, positive("www.example.com.", {111})) == InsertResult::kInserted);
  REQUIRE(put(c, dobit, positive("www.example.com.", {222, 222})) == InsertResult::kInserted);
  CHECK(get(c, stored, kT0).l.ttl == 300);
  CHECK(get(c, cd, kT0).l.ttl == 111);
  CHECK(get(c, dobit, kT0).m.ancount == 2);
  CHECK(c.stats().entries == 3);

  // Re-inserting the same key (any case) replaces the entry.
  REQUIRE(put(c, Key("WWW.example.COM."), positive("WWW.example.COM.", {50})) ==
          InsertResult::kInserted);
  CHECK(get(c, stored, kT0).l.ttl == 50);
  CHECK(c.stats().entries == 3);
}

TEST_CASE("serve-stale: only get_stale, only within the window, TTLs 30") {
  const Key key("www.example.com.");
  const auto resp = positive("www.example.com.", {100, 300});
  SUBCASE("on") {
    PacketCache c({.stale_ms = 60'000});
    REQUIRE(put(c, key, resp) == InsertResult::kInserted);
    CHECK(get(c, key, kT0 + 50'000, true).l.status == LookupStatus::kHit);  // fresh: normal
    CHECK(get(c, key, kT0 + 110'000).l.status == LookupStatus::kMiss);
    const Got g = get(c, key, kT0 + 110'000, true);
    REQUIRE(g.l.status == LookupStatus::kStale);
    REQUIRE(g.m.ok);
    CHECK(g.l.ttl == 30);
    CHECK(g.ttl(0) == 30);
    CHECK(g.ttl(1) == 30);
    CHECK(c.stats().stale_hits == 1);
    CHECK(get(c, key, kT0 + 160'000, true).l.status == LookupStatus::kMiss);  // past window
    CHECK(c.stats().entries == 0);                                            // and freed
  }
  SUBCASE("off") {
    PacketCache c;
    REQUIRE(put(c, key, resp) == InsertResult::kInserted);
    CHECK(get(c, key, kT0 + 100'001, true).l.status == LookupStatus::kMiss);
  }
}

TEST_CASE("byte bound: total stays under max_bytes; a hot entry survives, cold ones go") {
  constexpr size_t kMax = PacketCache::kShards * 1024;
  PacketCache c({.max_bytes = kMax});
  const Key hot("hot.example.com.");
  REQUIRE(put(c, hot, positive("hot.example.com.", {3600})) == InsertResult::kInserted);
  int hot_hits = 0;
  constexpr int kCold = 3000;
  for (int i = 0; i < kCold; ++i) {
    const std::string name = "cold" + std::to_string(i) + ".example.com.";
    REQUIRE(put(c, Key(name), positive(name, {3600})) == InsertResult::kInserted);
    if (get(c, hot, kT0).l.hit()) ++hot_hits;
    CHECK(c.stats().bytes <= kMax);
  }
  CHECK(hot_hits == kCold);
  const auto st = c.stats();
  CHECK(st.bytes <= kMax);
  CHECK(st.evictions > 0);
  CHECK(st.entries < kCold / 2);
  int early_cold = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "cold" + std::to_string(i) + ".example.com.";
    if (get(c, Key(name), kT0).l.hit()) ++early_cold;
  }
  CHECK(early_cold < 20);
  // An entry bigger than a shard's budget is refused, never stored over budget.
  PacketCache tiny({.max_bytes = PacketCache::kShards * 64});
  CHECK(put(tiny, hot, positive("hot.example.com.", {3600})) == InsertResult::kTooBig);
}

TEST_CASE("flush(name) removes every entry for the name; flush() removes all") {
  PacketCache c;
  const Key a("www.example.com.");
  const Key aaaa("www.example.com.", kAaaa);
  const Key other("mail.example.com.");
  REQUIRE(put(c, a, positive("www.example.com.", {300})) == InsertResult::kInserted);
  REQUIRE(put(c, aaaa, positive("www.example.com.", {300}, kNoError, false, kAaaa)) ==
          InsertResult::kInserted);
  REQUIRE(put(c, other, positive("mail.example.com.", {300})) == InsertResult::kInserted);
  const auto name = wire_name("WWW.Example.COM.");
  CHECK(c.flush(name.data(), name.size()) == 2);
  CHECK(get(c, a, kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, aaaa, kT0).l.status == LookupStatus::kMiss);
  CHECK(get(c, other, kT0).l.status == LookupStatus::kHit);
  CHECK(c.stats().entries == 1);
  c.flush();
  CHECK(get(c, other, kT0).l.status == LookupStatus::kMiss);
  CHECK(c.stats().entries == 0);
  CHECK(c.stats().bytes == 0);
  // Still usable after a flush.
  REQUIRE(put(c, a, positive("www.example.com.", {300})) == InsertResult::kInserted);
  CHECK(get(c, a, kT0).l.status == LookupStatus::kHit);
}

TEST_CASE("stats count hits, misses, inserts; a too-small buffer is a miss") {
  PacketCache c;
  const Key key("www.example.com.");
  REQUIRE(put(c, key, positive("www.example.com.", {300})) == InsertResult::kInserted);
  get(c, key, kT0);
  get(c, Key("nope.example.com."), kT0);
  uint8_t small[16];
  CHECK(c.get(key.k, kT0, small, sizeof small).status == LookupStatus::kMiss);
  const auto st = c.stats();
  CHECK(st.inserts == 1);
  CHECK(st.hits == 1);
  CHECK(st.misses == 2);
  CHECK(st.entries == 1);
  CHECK(st.bytes > 0);
}

TEST_CASE("threads: concurrent insert and get stay consistent") {
  PacketCache c({.max_bytes = PacketCache::kShards * 4096});
  std::atomic<int> bad{0};
  auto work = [&](int seed) {
    std::vector<uint8_t> out(sinkhole::dns::kMaxMessage);
    for (int i = 0; i < 2000; ++i) {
      const std::string name = "n" + std::to_string((i * 7 + seed) % 300) + ".example.com.";
      const Key key(name);
      const auto l = c.get(key.k, kT0, out.data(), out.size());
      if (l.hit()) {
        const auto m = sinkhole::dns::parse_message(out.data(), l.size);
        const auto want = wire_name(name);
        if (!m.ok || m.qname_len != want.size() ||
            std::memcmp(out.data() + 12, want.data(), want.size()) != 0) {
          ++bad;
        }
      } else {
        const auto resp = positive(name, {300});
        const auto m = sinkhole::dns::parse_message(resp.data(), resp.size());
        c.insert(key.k, resp.data(), m, kT0);
      }
    }
  };
  std::thread t1(work, 1), t2(work, 2);
  t1.join();
  t2.join();
  CHECK(bad == 0);
  CHECK(c.stats().bytes <= PacketCache::kShards * 4096);
}

}  // namespace
