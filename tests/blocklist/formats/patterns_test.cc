// SPDX-License-Identifier: MIT
// read_patterns: regex lines, wildcards turned into regexes, `*.name` and plain names kept as
// domain rules, `@@` exceptions, comments, CRLF, a BOM, rejects; and the fixture file.
#include "blocklist/formats/patterns.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

ParsedList read(std::string_view text) {
  ParsedList out;
  read_patterns(text, out);
  return out;
}

TEST_CASE("read_patterns: regex and wildcard lines become patterns") {
  struct Case {
    const char* text;
    const char* expression;
    const char* source;
    RuleKind kind;
  };
  const Case cases[] = {
      {"/^ads?[0-9]*\\./", "^ads?[0-9]*\\.", "/^ads?[0-9]*\\./", RuleKind::kBlock},
      {"  /casino|poker/  # why  ", "casino|poker", "/casino|poker/", RuleKind::kBlock},
      {"/a#b/", "a#b", "/a#b/", RuleKind::kBlock},
      {"/a/b/", "a/b", "/a/b/", RuleKind::kBlock},
      {"/x/ # see http://example.com/x", "x", "/x/", RuleKind::kBlock},
      {"@@/^safe\\./", "^safe\\.", "/^safe\\./", RuleKind::kException},
      {"*.bet*.com", "^(?:[^.]+\\.)+bet[^.]*\\.com$", "*.bet*.com", RuleKind::kBlock},
      {"*.Bet*.Com # comment", "^(?:[^.]+\\.)+bet[^.]*\\.com$", "*.Bet*.Com", RuleKind::kBlock},
      {"@@*.bet*.good.com", "^(?:[^.]+\\.)+bet[^.]*\\.good\\.com$", "*.bet*.good.com",
       RuleKind::kException},
      {"/regex/\r", "regex", "/regex/", RuleKind::kBlock},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParsedList l = read(c.text);
    CHECK(l.domains.empty());
    CHECK(l.stats.rejects.empty());
    REQUIRE(l.patterns.size() == 1);
    CHECK(l.patterns[0].expression == c.expression);
    CHECK(l.patterns[0].source == c.source);
    CHECK(l.patterns[0].kind == c.kind);
    CHECK(l.patterns[0].line == 1);
  }
}

TEST_CASE("read_patterns: *.name and plain names are domain rules") {
  ParsedList l = read("*.Sub.Example.\nplain.example\n@@*.ok.example\ncá-cược.vn\n");
  CHECK(l.patterns.empty());
  REQUIRE(l.domains.size() == 4);
  CHECK(l.domains[0].name == "sub.example");
  CHECK(l.domains[0].scope == Scope::kSubdomains);
  CHECK(l.domains[1].name == "plain.example");
  CHECK(l.domains[1].scope == Scope::kSubtree);
  CHECK(l.domains[2].kind == RuleKind::kException);
  CHECK(l.domains[2].scope == Scope::kSubdomains);
  CHECK(l.domains[3].name == "xn--c-cc-5na85j946j.vn");
}

TEST_CASE("read_patterns: rejects carry their line") {
  ParsedList l = read("/unclosed\n//\n*\ntwo fields\n*.a%b*.example\n@@\nok.example\n");
  std::vector<std::pair<uint32_t, std::string>> got;
  for (const auto& r : l.stats.rejects) got.emplace_back(r.line, r.reason);
  REQUIRE(got.size() == 6);
  CHECK(got[0].first == 1);
  CHECK(got[0].second.starts_with("regex without a closing '/'"));
  CHECK(got[1].second.starts_with("empty regex"));
  CHECK(got[2].second.starts_with("'*' alone matches every name"));
  CHECK(got[3].second.starts_with("more than one field on the line"));
  CHECK(got[4].second.starts_with("invalid character in a wildcard label"));
  CHECK(got[5].first == 6);
  CHECK(got[5].second.starts_with("empty rule"));
  REQUIRE(l.domains.size() == 1);
  CHECK(l.domains[0].line == 7);
}

TEST_CASE("read_patterns: BOM, CRLF, comments") {
  ParsedList l = read("\xEF\xBB\xBF# header\r\n\r\n*.bet*.com\r\n  # indented comment\r\n/x/");
  CHECK(l.stats.lines == 5);
  REQUIRE(l.patterns.size() == 2);
  CHECK(l.patterns[0].line == 3);
  CHECK(l.patterns[1].line == 5);
  CHECK(l.stats.rejects.empty());
}

TEST_CASE("patterns fixture through read_list_file") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/patterns.txt", Format::kPatterns);
  CHECK(l.stats.lines == 21);
  std::vector<std::pair<uint32_t, std::string>> patterns;
  for (const auto& p : l.patterns) patterns.emplace_back(p.line, p.expression);
  const std::vector<std::pair<uint32_t, std::string>> want = {
      {3, R"(^ads?[0-9]*\.)"},
      {4, "casino|poker"},
      {5, "a#b"},
      {6, R"(^(?:[^.]+\.)+bet[^.]*\.com$)"},  // line 7 spells it in capitals: duplicate
      {8, R"(^ads\.[^.]+\.example$)"},
      {9, R"(^[^.]*bet\.example$)"},
      {10, R"(^example\.[^.]+$)"},
      {13, R"(^(?:[^.]+\.)+bet[^.]*\.good\.com$)"},
      {14, R"(^safe\.)"},
      {21, R"(^shop\.[^.]+\.xn--c-cc-5na85j946j\.vn$)"},
  };
  CHECK(patterns == want);
  CHECK(l.patterns[7].kind == RuleKind::kException);
  CHECK(l.patterns[8].kind == RuleKind::kException);
  REQUIRE(l.domains.size() == 2);
  CHECK(l.domains[0].name == "plain-subdomains.example");
  CHECK(l.domains[0].scope == Scope::kSubdomains);
  CHECK(l.domains[1].name == "plain.example");
  CHECK(l.stats.entries == 12);
  CHECK(l.stats.rules == 12);
  CHECK(l.stats.duplicates == 1);
  std::vector<uint32_t> lines;
  for (const auto& r : l.stats.rejects) lines.push_back(r.line);
  CHECK(lines == std::vector<uint32_t>{15, 16, 17, 18, 19, 20});
}

}  // namespace
