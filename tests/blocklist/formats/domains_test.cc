// SPDX-License-Identifier: MIT
// read_domains: one name a line with comments, CRLF, a BOM, IDN in both forms, over-long
// labels, garbage; and the fixture file end to end through read_list_file.
#include "blocklist/formats/domains.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

ParsedList read(std::string_view text) {
  ParsedList out;
  read_domains(text, out);
  return out;
}

std::vector<std::string> names(const ParsedList& l) {
  std::vector<std::string> v;
  for (const auto& d : l.domains) v.push_back(d.name);
  return v;
}

TEST_CASE("read_domains: one line, one expected outcome") {
  struct Case {
    const char* text;
    const char* name;    // expected entry, or nullptr
    const char* reject;  // expected reject reason prefix, or nullptr
  };
  const Case cases[] = {
      {"example.com", "example.com", nullptr},
      {"Example.COM", "example.com", nullptr},
      {"example.com.", "example.com", nullptr},
      {"  example.com  ", "example.com", nullptr},
      {"example.com # why it is here", "example.com", nullptr},
      {"example.com#no-space-comment", "example.com", nullptr},
      {"example.com\r", "example.com", nullptr},
      {"_acme-challenge.example.com", "_acme-challenge.example.com", nullptr},
      {"10.20.30.40", "10.20.30.40", nullptr},
      {"cá-cược.vn", "xn--c-cc-5na85j946j.vn", nullptr},
      {"XN--C-CC-5NA85J946J.VN.", "xn--c-cc-5na85j946j.vn", nullptr},
      {"# only a comment", nullptr, nullptr},
      {"", nullptr, nullptr},
      {"   \t ", nullptr, nullptr},
      {"0.0.0.0 example.com", nullptr, "more than one field on the line"},
      {"exa$mple.com", nullptr, "invalid character '$'"},
      {"example..com", nullptr, "empty label"},
      {"*ads.example.com", nullptr, "invalid character '*'"},
      {"\x01\x02\x03", nullptr, "invalid character '\\x01'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParsedList l = read(c.text);
    CHECK(l.stats.lines == (std::string_view(c.text).empty() ? 0u : 1u));
    if (c.name) {
      REQUIRE(l.domains.size() == 1);
      CHECK(l.domains[0].name == c.name);
      CHECK(l.domains[0].scope == Scope::kSubtree);
      CHECK(l.domains[0].kind == RuleKind::kBlock);
      CHECK(l.domains[0].line == 1);
    } else {
      CHECK(l.domains.empty());
    }
    if (c.reject) {
      REQUIRE(l.stats.rejects.size() == 1);
      CHECK(l.stats.rejects[0].line == 1);
      CHECK(l.stats.rejects[0].reason.starts_with(c.reject));
    } else {
      CHECK(l.stats.rejects.empty());
    }
  }
}

TEST_CASE("read_domains: a leading *. means strictly below the name") {
  ParsedList l = read("*.Wild.Example.\n");
  REQUIRE(l.domains.size() == 1);
  CHECK(l.domains[0].name == "wild.example");
  CHECK(l.domains[0].scope == Scope::kSubdomains);
}

TEST_CASE("read_domains: BOM, CRLF, no final newline; line numbers are physical lines") {
  ParsedList l = read(
      "\xEF\xBB\xBF"
      "first.example\r\n# c\r\n\r\nBAD NAME\r\nlast.example");
  CHECK(l.stats.lines == 5);
  CHECK(names(l) == std::vector<std::string>{"first.example", "last.example"});
  CHECK(l.domains[0].line == 1);
  CHECK(l.domains[1].line == 5);
  REQUIRE(l.stats.rejects.size() == 1);
  CHECK(l.stats.rejects[0].line == 4);
}

TEST_CASE("read_domains: binary garbage is rejected line by line, never crashes") {
  std::string garbage;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') garbage += static_cast<char>(i);
  }
  garbage += "\nok.example\n";
  ParsedList l = read(garbage);
  CHECK(names(l) == std::vector<std::string>{"ok.example"});
  CHECK(l.domains[0].line == 2);
  CHECK_FALSE(l.stats.rejects.empty());
  for (const Reject& r : l.stats.rejects) CHECK(r.line == 1);
}

TEST_CASE("domains fixture: BOM + CRLF file through read_list_file") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/domains.txt", Format::kDomains);
  CHECK(l.stats.lines == 16);
  struct Want {
    const char* name;
    Scope scope;
    uint32_t line;
  };
  const Want want[] = {
      {"example.com", Scope::kSubtree, 4},
      {"www.example.com", Scope::kSubtree, 5},
      {"_dmarc.mail.example", Scope::kSubtree, 6},
      {"1.2.3.4", Scope::kSubtree, 7},
      {"xn--c-cc-5na85j946j.vn", Scope::kSubtree, 8},  // line 9 is its punycode: duplicate
      {"wild.example", Scope::kSubdomains, 10},
      {"spaced.example", Scope::kSubtree, 14},
      {"last.example", Scope::kSubtree, 16},  // no final newline
  };
  REQUIRE(l.domains.size() == std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    CAPTURE(i);
    CHECK(l.domains[i].name == want[i].name);
    CHECK(l.domains[i].scope == want[i].scope);
    CHECK(l.domains[i].line == want[i].line);
  }
  CHECK(l.stats.entries == 8);
  CHECK(l.stats.rules == 8);
  CHECK(l.stats.duplicates == 2);  // the punycode line and the second example.com
  REQUIRE(l.stats.rejects.size() == 3);
  CHECK(l.stats.rejects[0].line == 11);
  CHECK(l.stats.rejects[0].reason.starts_with("label longer than 63 octets"));
  CHECK(l.stats.rejects[1].line == 12);
  CHECK(l.stats.rejects[2].line == 13);
  CHECK(l.stats.rejects[2].reason.starts_with("invalid character '%'"));
  CHECK(l.stats.skipped.empty());
}

}  // namespace
