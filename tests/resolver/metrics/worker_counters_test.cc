// SPDX-License-Identifier: MIT
// WorkerCounters: per-worker increments, the sum over workers in table order, the JSON line,
// and the counter table itself (every counter named once, with help text; the parse-outcome
// block lined up with dns::ParseOutcome, which the query handler relies on).
#include "resolver/metrics/worker_counters.h"

#include <doctest/doctest.h>

#include <cctype>
#include <set>
#include <string>

#include "resolver/dns/query_view.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::metrics::kCounterCount;
using sinkhole::metrics::WorkerCounters;

std::string name_of(Counter c) {
  return sinkhole::metrics::info(c).name;
}

}  // namespace

TEST_CASE("WorkerCounters counts per worker and sum adds the workers up") {
  WorkerCounters a, b, idle;
  a.inc(Counter::kQueriesUdp);
  a.inc(Counter::kQueriesUdp);
  b.inc(Counter::kQueriesUdp, 5);
  b.inc(Counter::kQueriesTcp);
  a.inc(Counter::kTcpBadLength, 1ull << 40);
  CHECK(a.get(Counter::kQueriesUdp) == 2);
  CHECK(b.get(Counter::kQueriesUdp) == 5);
  CHECK(idle.get(Counter::kQueriesUdp) == 0);

  const auto total = sinkhole::metrics::sum({&a, &b, &idle});
  REQUIRE(total.size() == kCounterCount);
  for (size_t i = 0; i < kCounterCount; ++i) {
    const auto c = static_cast<Counter>(i);
    INFO(name_of(c));
    CHECK(total[i].first == name_of(c));  // table order
    CHECK(total[i].second == a.get(c) + b.get(c) + idle.get(c));
  }
  CHECK(total[static_cast<size_t>(Counter::kQueriesUdp)].second == 7);
  CHECK(total[static_cast<size_t>(Counter::kQueriesTcp)].second == 1);
  CHECK(total[static_cast<size_t>(Counter::kTcpBadLength)].second == (1ull << 40));

  const auto none = sinkhole::metrics::sum({});
  REQUIRE(none.size() == kCounterCount);
  for (const auto& [name, v] : none) CHECK(v == 0);
}

TEST_CASE("every counter has a unique, non-empty snake_case name and help text") {
  std::set<std::string> names;
  for (size_t i = 0; i < kCounterCount; ++i) {
    const auto& inf = sinkhole::metrics::info(static_cast<Counter>(i));
    REQUIRE(inf.name != nullptr);
    REQUIRE(inf.help != nullptr);
    const std::string name = inf.name;
    INFO(i << ": " << name);
    CHECK_FALSE(name.empty());
    CHECK(std::string(inf.help).size() > 0);
    CHECK(names.insert(name).second);
    bool snake = std::islower(static_cast<unsigned char>(name[0]));
    for (char ch : name)
      snake = snake && (std::islower(static_cast<unsigned char>(ch)) ||
                        std::isdigit(static_cast<unsigned char>(ch)) || ch == '_');
    CHECK(snake);
  }
  CHECK(names.size() == kCounterCount);
}

TEST_CASE("the parse-outcome counters line up with dns::ParseOutcome") {
  using sinkhole::dns::ParseOutcome;
  // The query handler maps an outcome to kDropShortHeader + (outcome - kDropShortHeader).
  const auto at = [](ParseOutcome o) {
    return static_cast<Counter>(static_cast<size_t>(Counter::kDropShortHeader) +
                                static_cast<size_t>(o) -
                                static_cast<size_t>(ParseOutcome::kDropShortHeader));
  };
  CHECK(at(ParseOutcome::kDropShortHeader) == Counter::kDropShortHeader);
  CHECK(at(ParseOutcome::kDropResponse) == Counter::kDropResponse);
  CHECK(at(ParseOutcome::kNotImp) == Counter::kNotImp);
  CHECK(at(ParseOutcome::kFormErrQdCount) == Counter::kFormErrQdCount);
  CHECK(at(ParseOutcome::kFormErrNamePastEnd) == Counter::kFormErrNamePastEnd);
  CHECK(at(ParseOutcome::kFormErrBadLabelType) == Counter::kFormErrBadLabelType);
  CHECK(at(ParseOutcome::kFormErrPointerLoop) == Counter::kFormErrPointerLoop);
  CHECK(at(ParseOutcome::kFormErrForwardPointer) == Counter::kFormErrForwardPointer);
  CHECK(at(ParseOutcome::kFormErrPointerPastEnd) == Counter::kFormErrPointerPastEnd);
  CHECK(at(ParseOutcome::kFormErrNameTooLong) == Counter::kFormErrNameTooLong);
  CHECK(at(ParseOutcome::kFormErrShortQuestion) == Counter::kFormErrShortQuestion);
  CHECK(at(ParseOutcome::kFormErrRecordPastEnd) == Counter::kFormErrRecordPastEnd);
  CHECK(at(ParseOutcome::kFormErrOptNotRoot) == Counter::kFormErrOptNotRoot);
  CHECK(at(ParseOutcome::kFormErrTwoOpt) == Counter::kFormErrTwoOpt);
  CHECK(at(ParseOutcome::kFormErrOptPastEnd) == Counter::kFormErrOptPastEnd);
  CHECK(at(ParseOutcome::kBadVers) == Counter::kBadVers);
  CHECK(static_cast<size_t>(ParseOutcome::kCount) - 1 ==
        static_cast<size_t>(Counter::kBadVers) - static_cast<size_t>(Counter::kDropShortHeader) +
            1);
}
