// SPDX-License-Identifier: MIT
// The fleet merge: nodes hashing with one key merge into the count of the union (a client
// seen by several nodes counted once, far below the sum of the nodes); a category missing on
// a node merges as empty; different keys are refused, naming the nodes.
#include "resolver/metrics/sketch_merge.h"

#include <doctest/doctest.h>

#include <string>

#include "resolver/metrics/hash_key.h"
#include "resolver/metrics/protected_users.h"
#include "tests/resolver/metrics/ipv4_clients.h"

namespace {

using namespace sinkhole::metrics;

constexpr int64_t kT0 = 472'223 * 3600;
constexpr ProtectedUsers::HashKey kFleet{0xa5a5a5a55a5a5a5aull, 0x0f1e2d3c4b5a6978ull};

// A node that saw IPv4 clients [first, first + n) in category "gambling" (and, when
// `malware`, the same ones in "malware"): its document as the endpoint would export it.
SketchDocument node(const std::string& name, ProtectedUsers::HashKey key, uint32_t first,
                    uint32_t n, bool malware = false) {
  ProtectedUsers users(key);
  users.ensure_category(0);
  users.ensure_category(1);
  users.rotate(kT0);
  sinkhole::test::record_ipv4_clients(users, 0, first, n, kT0);
  if (malware) sinkhole::test::record_ipv4_clients(users, 1, first, n, kT0);
  SketchDocument d;
  d.node = name;
  d.key_fingerprint = key_fingerprint(key);
  d.key_from_file = true;
  d.generated_unix = kT0;
  for (uint16_t id = 0; id < (malware ? 2 : 1); ++id) {
    CategorySketch c;
    c.category = id == 0 ? "gambling" : "malware";
    users.window_registers(id, kT0, ProtectedUsers::Window::kLastHour, c.last_hour.registers);
    users.window_registers(id, kT0, ProtectedUsers::Window::kLastDay, c.last_day.registers);
    c.last_hour.estimate = HyperLogLog::estimate(c.last_hour.registers);
    c.last_day.estimate = HyperLogLog::estimate(c.last_day.registers);
    d.categories.push_back(c);
  }
  // Through the text, as fleet-report reads it.
  return *parse_sketch_document(to_json_text(d)).document;
}

}  // namespace

TEST_CASE("merge = union: overlapping nodes count each client once") {
  // a: 0..59999, b: 40000..99999 (20000 shared) → union 100000, sum 120000.
  const std::vector<NodeSketches> nodes{{"http://a", node("a", kFleet, 0, 60'000, true)},
                                        {"http://b", node("b", kFleet, 40'000, 60'000)}};
  const auto m = merge_sketches(nodes);
  REQUIRE_MESSAGE(m.report, m.error);
  const FleetReport& r = *m.report;
  CHECK(r.nodes == std::vector<std::string>{"a", "b"});
  CHECK(r.key_fingerprint == key_fingerprint(kFleet));
  REQUIRE(r.rows.size() == 4);  // gambling and malware × last_hour, last_day
  const FleetRow& g = r.rows[0];
  CHECK(g.category == "gambling");
  CHECK(g.window == "last_hour");
  CHECK(g.nodes_merged == 2);
  CHECK(g.fleet == doctest::Approx(100'000).epsilon(0.025));
  CHECK(g.node_sum == doctest::Approx(120'000).epsilon(0.025));
  CHECK(g.fleet < g.node_sum - 15'000);
  REQUIRE(g.per_node.size() == 2);
  CHECK(*g.per_node[0] == doctest::Approx(60'000).epsilon(0.025));
  CHECK(r.rows[1].window == "last_day");
  CHECK(r.rows[1].fleet == doctest::Approx(g.fleet));
  // malware only on a: b shows none and merges nothing.
  const FleetRow& mw = r.rows[2];
  CHECK(mw.category == "malware");
  CHECK(mw.nodes_merged == 1);
  CHECK_FALSE(mw.per_node[1].has_value());
  CHECK(mw.fleet == doctest::Approx(*mw.per_node[0]).epsilon(0.001));
}

TEST_CASE("the same clients on every node merge to the count of one node") {
  const std::vector<NodeSketches> nodes{{"u1", node("a", kFleet, 0, 20'000)},
                                        {"u2", node("b", kFleet, 0, 20'000)},
                                        {"u3", node("c", kFleet, 0, 20'000)}};
  const auto m = merge_sketches(nodes);
  REQUIRE(m.report);
  CHECK(m.report->rows[0].fleet == doctest::Approx(*m.report->rows[0].per_node[0]));
  CHECK(m.report->rows[0].node_sum == doctest::Approx(3 * m.report->rows[0].fleet));
}

TEST_CASE("different keys are refused, naming each key's nodes") {
  const ProtectedUsers::HashKey other{1, 2};
  auto d = node("d", other, 0, 1000);
  d.key_from_file = false;
  const std::vector<NodeSketches> nodes{{"http://a:9153", node("a", kFleet, 0, 1000)},
                                        {"http://b:9153", node("b", kFleet, 0, 1000)},
                                        {"http://d:9153", d}};
  const auto m = merge_sketches(nodes);
  CHECK_FALSE(m.report);
  CHECK(m.error.find("2 different keys") != std::string::npos);
  CHECK(m.error.find(key_fingerprint(kFleet) + " on a (http://a:9153), b (http://b:9153)") !=
        std::string::npos);
  CHECK(m.error.find(key_fingerprint(other) + " on d (http://d:9153)") != std::string::npos);
  CHECK(m.error.find("without protected_users.key_file") != std::string::npos);
}

TEST_CASE("nodes of the same name are told apart by their source; skew is warned about") {
  auto late = node("edge", kFleet, 0, 10);
  late.generated_unix += 600;
  const std::vector<NodeSketches> nodes{{"http://x", node("edge", kFleet, 0, 10)},
                                        {"http://y", late}};
  const auto m = merge_sketches(nodes);
  REQUIRE(m.report);
  CHECK(m.report->nodes == std::vector<std::string>{"edge@http://x", "edge@http://y"});
  REQUIRE(m.report->warnings.size() == 1);
  CHECK(m.report->warnings[0].find("600 s apart") != std::string::npos);
  CHECK_FALSE(merge_sketches({}).report);
}
