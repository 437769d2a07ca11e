// SPDX-License-Identifier: MIT
#include "blocklist/pattern_set.h"

#include <doctest/doctest.h>

#include <string>

#include "blocklist/matcher.h"

namespace sb = sinkhole::blocklist;

TEST_CASE("10,000 generated patterns compile; one bad one is reported by line, 9,999 match") {
  constexpr uint32_t kCount = 10000;
  constexpr uint32_t kBad = 4321;
  sb::ParsedList list;
  list.source = "generated.patterns";
  list.format = sb::Format::kPatterns;
  for (uint32_t i = 0; i < kCount; ++i) {
    sb::PatternEntry p;
    p.line = i + 1;
    if (i == kBad) {
      p.expression = "^casino(" + std::to_string(i) + "\\.com$";  // unbalanced parenthesis
    } else {
      p.expression = "^([^.]+\\.)*casino" + std::to_string(i) + "-[a-z]+\\.(com|net)$";
    }
    p.source = p.expression;
    list.patterns.push_back(p);
  }
  sb::MatcherBuilder b;
  b.add(list);
  auto r = b.build();
  REQUIRE(r.pattern_errors.size() == 1);
  CHECK(r.pattern_errors[0].line == kBad + 1);
  CHECK(r.pattern_errors[0].to_string().find("generated.patterns:4322: bad pattern") == 0);
  CHECK(r.matcher->pattern_count() == kCount - 1);
  CHECK(r.matcher->lists()[0].pattern_rules == kCount - 1);

  sb::PatternScratch scratch;
  REQUIRE(scratch.prepare(r.matcher->patterns()));
  size_t matched = 0;
  for (uint32_t i = 0; i < kCount; ++i) {
    const std::string name = "www.casino" + std::to_string(i) + "-royal.com";
    auto hit = r.matcher->lookup_text(name, &scratch);
    if (i == kBad) {
      CHECK_FALSE(hit.has_value());
      continue;
    }
    REQUIRE(hit.has_value());
    CHECK(hit->rule.line == i + 1);
    ++matched;
  }
  CHECK(matched == kCount - 1);
  CHECK_FALSE(r.matcher->lookup_text("www.casino1-royal.org", &scratch).has_value());
}

TEST_CASE("an exception pattern wins over a block pattern") {
  std::vector<bool> exception = {false, true};
  std::vector<sb::PatternSet::Error> errors;
  auto set = sb::PatternSet::compile({"bet", "^safe\\.bet\\.com$"}, exception, errors);
  CHECK(errors.empty());
  sb::PatternScratch scratch;
  REQUIRE(scratch.prepare(set));
  CHECK(set.scan("safe.bet.com", 12, scratch) == 1);
  CHECK(set.scan("www.bet.com", 11, scratch) == 0);
  CHECK(set.scan("www.example.com", 15, scratch) == sb::PatternSet::kNoMatch);
}
