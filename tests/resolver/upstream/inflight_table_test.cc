// SPDX-License-Identifier: MIT
// InflightTable: the coalescing key (name case-insensitive; qtype, qclass, DO and CD exact),
// waiters kept in arrival order with their own copy of the question, and finish() recycling
// entries and waiters.
#include "resolver/upstream/inflight_table.h"

#include "resolver/upstream/zone_key.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "../dns/test_packet.h"

namespace {

using sinkhole::test::wire_name;
using sinkhole::upstream::InflightTable;
using sinkhole::upstream::PendingQuery;
using sinkhole::upstream::Waiter;

struct Key {
  std::string name;
  uint16_t qtype = 1;
  uint16_t qclass = 1;
  bool do_bit = false;
  bool cd_bit = false;
};

PendingQuery* find(InflightTable& t, const Key& k, bool& created) {
  const auto w = wire_name(k.name);
  return t.find_or_create({w.data(), w.size(), k.qtype, k.qclass, k.do_bit, k.cd_bit}, created);
}

// A client query for `name` whose question lives in `buf` (owned by the caller).
sinkhole::dns::ClientQuery client_query(std::vector<uint8_t>& buf, std::string_view name,
                                        uint16_t id) {
  buf = wire_name(name);
  buf.insert(buf.end(), {0, 1, 0, 1});
  sinkhole::dns::ClientQuery cq;
  cq.id = id;
  cq.flags = 0x0100;
  cq.question = buf.data();
  cq.question_len = buf.size();
  return cq;
}

sinkhole::net::ClientEndpoint endpoint(uint16_t port) {
  sinkhole::net::ClientEndpoint ep;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(0x7F000001);
  ep.set_addr(reinterpret_cast<const sockaddr*>(&a));
  return ep;
}

uint16_t port_of(const Waiter* w) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(w->endpoint.sa())->sin_port);
}

}  // namespace

TEST_CASE("InflightTable coalesces the same question in any case") {
  InflightTable t;
  bool created = false;
  PendingQuery* first = find(t, {"www.Example.com."}, created);
  CHECK(created);
  for (const char* spelling : {"WWW.EXAMPLE.COM.", "wWw.eXaMpLe.CoM.", "www.example.com."}) {
    INFO(std::string(spelling));
    CHECK(find(t, {spelling}, created) == first);
    CHECK_FALSE(created);
  }
  CHECK(t.size() == 1);
  // The entry keeps the lower-cased name, and the question it stands for.
  const auto lower = wire_name("www.example.com.");
  CHECK(std::string(first->qname(), first->qname() + first->qname_len) ==
        std::string(lower.begin(), lower.end()));
  CHECK(first->qtype == 1);
  CHECK(first->qclass == 1);
  CHECK_FALSE(first->do_bit);
  CHECK_FALSE(first->cd_bit);
  CHECK(first->waiters == nullptr);
}

TEST_CASE("InflightTable keeps questions apart that differ in type, class, DO, CD or name") {
  InflightTable t;
  const Key keys[] = {
      {"www.example.com.", 1, 1, false, false}, {"www.example.com.", 28, 1, false, false},
      {"www.example.com.", 1, 3, false, false}, {"www.example.com.", 1, 1, true, false},
      {"www.example.com.", 1, 1, false, true},  {"www.example.com.", 1, 1, true, true},
      {"www.example.net.", 1, 1, false, false}, {"www.example.com.x.", 1, 1, false, false},
      {"ww.wexample.com.", 1, 1, false, false},  // same letters, other label boundaries
  };
  std::set<PendingQuery*> seen;
  for (const Key& k : keys) {
    INFO(k.name << " " << k.qtype << " " << k.qclass << " do=" << k.do_bit << " cd=" << k.cd_bit);
    bool created = false;
    PendingQuery* q = find(t, k, created);
    CHECK(created);
    CHECK(seen.insert(q).second);
    CHECK(q->qtype == k.qtype);
    CHECK(q->qclass == k.qclass);
    CHECK(q->do_bit == k.do_bit);
    CHECK(q->cd_bit == k.cd_bit);
  }
  CHECK(t.size() == std::size(keys));
  // Each is found again, not created twice.
  for (const Key& k : keys) {
    bool created = true;
    CHECK(seen.count(find(t, k, created)) == 1);
    CHECK_FALSE(created);
  }
}

TEST_CASE("InflightTable keeps waiters in arrival order with their own question copy") {
  InflightTable t;
  bool created = false;
  PendingQuery* q = find(t, {"a.example."}, created);
  const char* spellings[] = {"A.example.", "a.EXAMPLE.", "a.eXaMpLe."};
  std::vector<uint8_t> buf;
  for (uint16_t i = 0; i < 3; ++i) {
    auto cq = client_query(buf, spellings[i], static_cast<uint16_t>(100 + i));
    cq.has_opt = i == 1;
    t.add_waiter(*q, cq, endpoint(static_cast<uint16_t>(5000 + i)));
    // The receive buffer is reused for the next packet: the waiter must not care.
    std::fill(buf.begin(), buf.end(), 0xFF);
  }
  CHECK(q->waiter_count == 3);
  uint16_t i = 0;
  for (const Waiter* w = q->waiters; w; w = w->next, ++i) {
    INFO("waiter " << i);
    CHECK(w->query.id == 100 + i);
    CHECK(port_of(w) == 5000 + i);
    CHECK(w->query.has_opt == (i == 1));
    CHECK(w->query.question == w->question_bytes);
    const auto want = wire_name(spellings[i]);
    REQUIRE(w->query.question_len == want.size() + 4);
    CHECK(std::string(w->query.question, w->query.question + want.size()) ==
          std::string(want.begin(), want.end()));
  }
  CHECK(i == 3);
  CHECK(q->last_waiter->query.id == 102);
}

TEST_CASE("InflightTable::finish removes the entry and recycles it and its waiters") {
  InflightTable t;
  bool created = false;
  PendingQuery* a = find(t, {"a.example."}, created);
  PendingQuery* b = find(t, {"b.example."}, created);
  std::vector<uint8_t> buf;
  t.add_waiter(*a, client_query(buf, "a.example.", 1), endpoint(1));
  t.add_waiter(*a, client_query(buf, "a.example.", 2), endpoint(2));
  t.add_waiter(*b, client_query(buf, "b.example.", 3), endpoint(3));
  a->id = 0x1234;
  a->tried = 3;

  t.finish(a);
  CHECK(t.size() == 1);
  CHECK(find(t, {"b.example."}, created) == b);
  CHECK_FALSE(created);
  REQUIRE(b->waiters != nullptr);
  CHECK(b->waiters->query.id == 3);
  CHECK(b->waiters->next == nullptr);

  // The next new question reuses the recycled entry, reset.
  PendingQuery* c = find(t, {"c.example.", 28}, created);
  CHECK(created);
  CHECK(c == a);
  CHECK(c->id == 0);
  CHECK(c->tried == 0);
  CHECK(c->waiters == nullptr);
  CHECK(c->waiter_count == 0);
  CHECK(c->qtype == 28);
  t.add_waiter(*c, client_query(buf, "c.example.", 9), endpoint(9));
  CHECK(c->waiter_count == 1);
  CHECK(c->waiters->next == nullptr);
  CHECK(c->waiters->query.id == 9);

  // The old question is gone: asking it again creates a fresh entry.
  PendingQuery* again = find(t, {"a.example."}, created);
  CHECK(created);
  CHECK(again != c);
  CHECK(t.size() == 3);

  size_t visited = 0;
  t.for_each([&](PendingQuery*) { ++visited; });
  CHECK(visited == 3);
}

// --- limits -----------------------------------------------------------------------------

namespace {

using sinkhole::upstream::Admission;

Admission admit(InflightTable& t, const std::string& name,
                std::vector<PendingQuery*>* out = nullptr, uint16_t qtype = 1) {
  const auto w = wire_name(name);
  const auto f = t.find_or_admit({w.data(), w.size(), qtype, 1, false, false});
  CHECK((f.q != nullptr) ==
        (f.admission == Admission::kCreated || f.admission == Admission::kJoined));
  if (out && f.admission == Admission::kCreated) out->push_back(f.q);
  return f.admission;
}

}  // namespace

TEST_CASE("InflightTable refuses new questions past max_questions; joining stays possible") {
  InflightTable t;
  t.set_limits({3, SIZE_MAX});
  std::vector<PendingQuery*> live;
  CHECK(admit(t, "a.one.test.", &live) == Admission::kCreated);
  CHECK(admit(t, "b.two.test.", &live) == Admission::kCreated);
  CHECK(admit(t, "c.three.test.", &live) == Admission::kCreated);
  CHECK(admit(t, "d.four.test.") == Admission::kWorkerFull);
  CHECK(admit(t, "A.ONE.TEST.") == Admission::kJoined);  // an identical question costs nothing
  CHECK(t.size() == 3);
  t.finish(live[0]);
  CHECK(admit(t, "d.four.test.", &live) == Admission::kCreated);
  CHECK(admit(t, "e.five.test.") == Admission::kWorkerFull);
}

TEST_CASE("InflightTable gives each zone its share; other zones are unaffected") {
  InflightTable t;
  t.set_limits({100, 4});
  std::vector<PendingQuery*> dead;
  for (int i = 0; i < 4; ++i)
    CHECK(admit(t, "r" + std::to_string(i) + ".blackhole.test.", &dead) == Admission::kCreated);
  // Any name under the zone, however deep and in any case, counts against it.
  CHECK(admit(t, "x.y.z.BlackHole.Test.") == Admission::kZoneFull);
  CHECK(admit(t, "blackhole.test.", nullptr, 28) == Admission::kZoneFull);
  for (int i = 0; i < 4; ++i)
    CHECK(admit(t, "r" + std::to_string(i) + ".healthy.test.") == Admission::kCreated);
  CHECK(admit(t, "www.example.com.vn.") == Admission::kCreated);
  const auto zone = wire_name("blackhole.test.");
  CHECK(t.zone_count(zone.data(), zone.size()) == 4);
  // Finishing gives the share back.
  t.finish(dead.back());
  CHECK(t.zone_count(zone.data(), zone.size()) == 3);
  CHECK(admit(t, "again.blackhole.test.") == Admission::kCreated);
  CHECK(admit(t, "more.blackhole.test.") == Admission::kZoneFull);
}

TEST_CASE("zone_offset: the registrable-looking suffix of a name") {
  struct Case {
    const char* name;
    const char* zone;
  } cases[] = {
      {".", "."},
      {"vn.", "vn."},
      {"com.vn.", "com.vn."},
      {"example.com.", "example.com."},
      {"www.example.com.", "example.com."},
      {"a.b.c.www.example.com.", "example.com."},
      {"shop.com.vn.", "shop.com.vn."},
      {"a.b.shop.com.vn.", "shop.com.vn."},
      {"www.bao.gov.vn.", "bao.gov.vn."},
      {"news.bbc.co.uk.", "bbc.co.uk."},
      {"x.y.com.au.", "y.com.au."},
      {"www.example.vn.", "example.vn."},  // a ccTLD, no second-level label
      {"www.shop.com.", "shop.com."},      // com is not a ccTLD
      {"r123.attacker.blackhole.test.", "blackhole.test."},
      {"x.co.example.", "co.example."},  // co under a long TLD: two labels
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto w = wire_name(c.name);
    const size_t at = sinkhole::upstream::zone_offset(w.data(), w.size());
    CHECK(std::vector<uint8_t>(w.begin() + static_cast<long>(at), w.end()) == wire_name(c.zone));
  }
}
