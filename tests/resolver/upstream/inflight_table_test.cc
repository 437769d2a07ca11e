// SPDX-License-Identifier: MIT
// InflightTable: the coalescing key (name case-insensitive; qtype, qclass, DO and CD exact),
// waiters kept in arrival order with their own copy of the question, and finish() recycling
// entries and waiters.
#include "resolver/upstream/inflight_table.h"

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
