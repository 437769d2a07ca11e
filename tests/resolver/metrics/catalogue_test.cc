// SPDX-License-Identifier: MIT
#include "resolver/metrics/catalogue.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace sm = sinkhole::metrics;
namespace cat = sinkhole::metrics::catalogue;

TEST_CASE("catalogue: every family name is unique, prefixed, and counters end in _total") {
  std::set<std::string> names;
  auto add = [&](const std::string& name, sm::MetricType type) {
    CAPTURE(name);
    CHECK(name.rfind("sinkholed_", 0) == 0);
    if (type == sm::MetricType::kCounter) CHECK(name.size() > 6);
    if (type == sm::MetricType::kCounter) CHECK(name.substr(name.size() - 6) == "_total");
    CHECK(names.insert(name).second);
  };
  for (const auto* f : cat::families()) {
    CHECK(std::string(f->help).size() > 10);
    add(f->name, f->type);
  }
  for (const auto& g : cat::kCounterGroups) add(g.family.name, g.family.type);
  for (size_t i = 0; i < sm::kCounterCount; ++i) {
    const auto& info = sm::info(static_cast<sm::Counter>(i));
    if (!cat::counter_group(info.name))
      add(cat::counter_family_name(info.name), sm::MetricType::kCounter);
  }
}

TEST_CASE("catalogue: table counters fall into their groups by prefix") {
  CHECK(cat::counter_group("queries_udp")->label == "transport");
  CHECK(cat::counter_group("answers_nxdomain")->label == "rcode");
  CHECK(cat::counter_group("answers_truncated") == nullptr);
  CHECK(cat::counter_group("refused_no_policy")->label == "reason");
  CHECK(cat::counter_group("blocked") == nullptr);
  CHECK(cat::counter_family_name("blocked") == "sinkholed_blocked_queries_total");
  // The labelled family sinkholed_monitored_total{policy,list,...} keeps its name.
  CHECK(cat::counter_family_name("monitored") == "sinkholed_monitored_queries_total");
  CHECK(cat::counter_family_name("cache_hits") == "sinkholed_cache_hits_total");
}
