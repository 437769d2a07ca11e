// SPDX-License-Identifier: MIT
#include "blocklist/matcher.h"

#include "blocklist/list_reader.h"

#include <doctest/doctest.h>

#include <span>
#include <string>

namespace sb = sinkhole::blocklist;

namespace {

sb::DomainEntry domain(std::string name, sb::Scope scope = sb::Scope::kSubtree,
                       sb::RuleKind kind = sb::RuleKind::kBlock, uint32_t line = 1,
                       sb::ListAction action = sb::ListAction::kNone) {
  sb::DomainEntry e;
  e.name = std::move(name);
  e.scope = scope;
  e.kind = kind;
  e.line = line;
  e.action = action;
  return e;
}

sb::ParsedList list_of(std::string source, std::vector<sb::DomainEntry> domains,
                       std::vector<sb::PatternEntry> patterns = {}) {
  sb::ParsedList l;
  l.source = std::move(source);
  l.domains = std::move(domains);
  l.patterns = std::move(patterns);
  return l;
}

}  // namespace

TEST_CASE("a domain rule matches the name and all its subdomains, in any case") {
  sb::MatcherBuilder b;
  b.add(list_of("gambling.txt",
                {domain("casino.example", sb::Scope::kSubtree, sb::RuleKind::kBlock, 7)}));
  auto m = b.build().matcher;
  struct Case {
    const char* name;
    bool hit;
    int depth;
  } cases[] = {
      {"casino.example", true, 0},     {"CaSiNo.Example.", true, 0},
      {"www.casino.example", true, 1}, {"a.b.c.casino.example", true, 3},
      {"xcasino.example", false, 0},   {"casino.example.com", false, 0},
      {"example", false, 0},           {"casino.exampl", false, 0},
  };
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    auto r = m->lookup_text(c.name, nullptr);
    CHECK(r.has_value() == c.hit);
    if (r && c.hit) {
      CHECK(r->depth == c.depth);
      CHECK(r->rule.line == 7);
      CHECK(r->rule.list == 0);
      CHECK(r->rule.kind == sb::RuleKind::kBlock);
    }
  }
}

TEST_CASE("RPZ scopes: exact matches only the name, subdomains only below it") {
  sb::MatcherBuilder b;
  b.add(list_of("zone.rpz", {domain("exact.test", sb::Scope::kExact, sb::RuleKind::kBlock, 3,
                                    sb::ListAction::kNxDomain),
                             domain("wild.test", sb::Scope::kSubdomains, sb::RuleKind::kBlock, 4,
                                    sb::ListAction::kNoData)}));
  auto m = b.build().matcher;
  CHECK(m->lookup_text("exact.test", nullptr).has_value());
  CHECK(m->lookup_text("exact.test", nullptr)->rule.action == sb::ListAction::kNxDomain);
  CHECK_FALSE(m->lookup_text("www.exact.test", nullptr).has_value());
  CHECK_FALSE(m->lookup_text("wild.test", nullptr).has_value());
  auto below = m->lookup_text("a.b.wild.test", nullptr);
  REQUIRE(below.has_value());
  CHECK(below->rule.action == sb::ListAction::kNoData);
  CHECK(below->rule.line == 4);
}

TEST_CASE("the most specific rule wins, and an exception is reported as such") {
  sb::MatcherBuilder b;
  b.add(list_of("ads.adblock",
                {domain("example.com", sb::Scope::kSubtree, sb::RuleKind::kBlock, 1),
                 domain("good.example.com", sb::Scope::kSubtree, sb::RuleKind::kException, 2),
                 domain("bad.good.example.com", sb::Scope::kSubtree, sb::RuleKind::kBlock, 3)}));
  auto m = b.build().matcher;
  CHECK(m->lookup_text("x.example.com", nullptr)->rule.line == 1);
  CHECK(m->lookup_text("good.example.com", nullptr)->rule.kind == sb::RuleKind::kException);
  CHECK(m->lookup_text("x.good.example.com", nullptr)->rule.line == 2);
  CHECK(m->lookup_text("bad.good.example.com", nullptr)->rule.line == 3);
  CHECK(m->lookup_text("x.bad.good.example.com", nullptr)->rule.kind == sb::RuleKind::kBlock);
}

TEST_CASE("at the same name an exception beats a block, whatever the order") {
  for (bool exception_first : {false, true}) {
    CAPTURE(exception_first);
    sb::MatcherBuilder b;
    auto block = domain("same.test", sb::Scope::kSubtree, sb::RuleKind::kBlock, 10);
    auto allow = domain("same.test", sb::Scope::kSubtree, sb::RuleKind::kException, 20);
    b.add(list_of("l", exception_first ? std::vector{allow, block} : std::vector{block, allow}));
    auto r = b.build();
    auto hit = r.matcher->lookup_text("www.same.test", nullptr);
    REQUIRE(hit.has_value());
    CHECK(hit->rule.kind == sb::RuleKind::kException);
    CHECK(hit->rule.line == 20);
  }
}

TEST_CASE("duplicates keep the first provenance and are counted") {
  sb::MatcherBuilder b;
  b.add(list_of("first.txt", {domain("dup.test", sb::Scope::kSubtree, sb::RuleKind::kBlock, 5)}));
  b.add(list_of("second.txt", {domain("dup.test", sb::Scope::kSubtree, sb::RuleKind::kBlock, 9),
                               domain("other.test")}));
  auto r = b.build();
  CHECK(r.duplicates == 1);
  auto hit = r.matcher->lookup_text("dup.test", nullptr);
  REQUIRE(hit.has_value());
  CHECK(hit->rule.list == 0);
  CHECK(hit->rule.line == 5);
  CHECK(r.matcher->lookup_text("other.test", nullptr)->rule.list == 1);
  CHECK(r.matcher->lists().size() == 2);
  CHECK(r.matcher->lists()[0].domain_rules == 1);
  CHECK(r.matcher->lists()[1].domain_rules == 1);
  CHECK(r.matcher->name_count() == 2);
}

TEST_CASE("names that hash alike are still told apart: full comparison on every hit") {
  // Many names sharing suffixes and lengths; every one must find its own rule only.
  sb::MatcherBuilder b;
  std::vector<sb::DomainEntry> entries;
  for (uint32_t i = 0; i < 20000; ++i)
    entries.push_back(domain("n" + std::to_string(i) + ".x.test", sb::Scope::kExact,
                             sb::RuleKind::kBlock, i + 1));
  b.add(list_of("many", entries));
  auto m = b.build().matcher;
  for (uint32_t i = 0; i < 20000; i += 7) {
    auto hit = m->lookup_text("n" + std::to_string(i) + ".x.test", nullptr);
    REQUIRE(hit.has_value());
    CHECK(hit->rule.line == i + 1);
  }
  CHECK_FALSE(m->lookup_text("n20000.x.test", nullptr).has_value());
  CHECK_FALSE(m->lookup_text("x.test", nullptr).has_value());
  CHECK_FALSE(m->lookup_text("www.n5.x.test", nullptr).has_value());  // exact only
}

TEST_CASE("patterns are consulted when no domain rule matched") {
  sb::MatcherBuilder b;
  sb::PatternEntry p;
  p.expression = "^[^.]*\\.bet[^.]*\\.com$";
  p.source = "*.bet*.com";
  p.line = 12;
  b.add(list_of("pat", {domain("betfree.com", sb::Scope::kSubtree, sb::RuleKind::kException, 1)},
                {p}));
  auto r = b.build();
  CHECK(r.pattern_errors.empty());
  sb::PatternScratch scratch;
  REQUIRE(scratch.prepare(r.matcher->patterns()));
  auto hit = r.matcher->lookup_text("www.bet365.com", &scratch);
  REQUIRE(hit.has_value());
  CHECK(hit->rule.pattern);
  CHECK(hit->rule.line == 12);
  CHECK_FALSE(r.matcher->lookup_text("www.bet365.org", &scratch).has_value());
  // The domain exception is more specific than any pattern.
  CHECK(r.matcher->lookup_text("x.betfree.com", &scratch)->rule.kind == sb::RuleKind::kException);
  // Without scratch, patterns are not scanned (and nothing crashes).
  CHECK_FALSE(r.matcher->lookup_text("www.bet365.com", nullptr).has_value());
}

TEST_CASE("an AdBlock $important block outranks a more specific exception") {
  auto important = domain("tracker.test", sb::Scope::kSubtree, sb::RuleKind::kBlock, 1);
  important.important = true;
  auto plain = domain("ads.test", sb::Scope::kSubtree, sb::RuleKind::kBlock, 2);
  sb::MatcherBuilder b;
  b.add(list_of("l", {important, plain,
                      domain("ok.tracker.test", sb::Scope::kSubtree, sb::RuleKind::kException, 3),
                      domain("ok.ads.test", sb::Scope::kSubtree, sb::RuleKind::kException, 4)}));
  auto m = b.build().matcher;
  auto hit = m->lookup_text("x.ok.tracker.test", nullptr);
  REQUIRE(hit.has_value());
  CHECK(hit->rule.kind == sb::RuleKind::kBlock);
  CHECK(hit->rule.important);
  CHECK(hit->rule.line == 1);
  // Without $important, the more specific exception wins.
  CHECK(m->lookup_text("x.ok.ads.test", nullptr)->rule.kind == sb::RuleKind::kException);
}

namespace {

// Feeds a streamed parse into a builder, as the policy snapshot builder does.
struct Feed : sb::DomainSink {
  sb::MatcherBuilder& mb;
  uint16_t list;
  Feed(sb::MatcherBuilder& b, uint16_t id) : mb(b), list(id) {}
  void expect(size_t lines, size_t bytes) override { mb.reserve(lines, bytes); }
  void on_domains(std::span<sb::DomainEntry> entries, uint32_t first) override {
    mb.add_domains(list, entries, first);
  }
};

}  // namespace

TEST_CASE("a streamed list builds the same matcher, with the same counts, as a whole one") {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "||site-" + std::to_string(i) + ".example^\n";
  for (int i = 0; i < 10000; i += 7) text += "||site-" + std::to_string(i) + ".example^\n";
  for (int i = 0; i < 10000; i += 3) text += "@@||www.site-" + std::to_string(i) + ".example^\n";
  text += "||site-5.example^$important\n";

  sb::ParsedList whole = sb::parse_list(text, sb::Format::kAdblock, "whole");
  sb::MatcherBuilder a;
  a.add(whole);
  auto built_a = a.build();

  sb::MatcherBuilder b;
  const uint16_t id = b.begin_list("streamed", sb::Format::kAdblock);
  Feed feed(b, id);
  sb::ParsedList streamed = sb::parse_list(text, sb::Format::kAdblock, "streamed", &feed);
  b.add_patterns(id, streamed.patterns);
  const auto& counts = b.domain_counts(id);
  auto built_b = b.build();

  CHECK(counts.names == whole.stats.entries);
  CHECK(counts.rules == whole.stats.rules);
  CHECK(counts.duplicates == whole.stats.duplicates);
  CHECK(counts.duplicates > 0);
  CHECK(built_a.duplicates == 0);  // parse_list merged them already
  CHECK(built_b.matcher->name_count() == built_a.matcher->name_count());
  CHECK(built_b.matcher->domain_rule_count() == built_a.matcher->domain_rule_count());
  for (int i = 0; i < 10000; i += 1) {
    for (const std::string prefix : {"", "www.", "x.www."}) {
      const std::string name = prefix + "site-" + std::to_string(i) + ".example";
      CAPTURE(name);
      auto ma = built_a.matcher->lookup_text(name, nullptr);
      auto mb = built_b.matcher->lookup_text(name, nullptr);
      REQUIRE(ma.has_value() == mb.has_value());
      if (!ma) continue;
      CHECK(ma->rule.kind == mb->rule.kind);
      CHECK(ma->rule.line == mb->rule.line);
      CHECK(ma->rule.important == mb->rule.important);
      CHECK(ma->depth == mb->depth);
    }
  }
  CHECK_FALSE(built_b.matcher->lookup_text("site-10000.example", nullptr).has_value());
}
