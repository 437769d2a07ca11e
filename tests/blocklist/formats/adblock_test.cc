// SPDX-License-Identifier: MIT
// read_adblock: what a DNS filter keeps (||name^, @@ exceptions, a few options) and that
// everything else is counted under its reason, never dropped silently; and the fixture.
#include "blocklist/formats/adblock.h"

#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

ParsedList read(std::string_view text) {
  ParsedList out;
  read_adblock(text, out);
  return out;
}

size_t skipped_total(const ParsedList& l) {
  size_t n = 0;
  for (const auto& [reason, count] : l.stats.skipped) n += count;
  return n;
}

TEST_CASE("read_adblock: kept rules") {
  struct Case {
    const char* text;
    const char* name;
    RuleKind kind;
  };
  const Case cases[] = {
      {"||ads.example.com^", "ads.example.com", RuleKind::kBlock},
      {"||Ads.Example.COM^", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com.^", "ads.example.com", RuleKind::kBlock},
      {"  ||ads.example.com^  \r", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com^|", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com^$important", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com^$all", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com^$document,important", "ads.example.com", RuleKind::kBlock},
      {"||ads.example.com$Important", "ads.example.com", RuleKind::kBlock},
      {"@@||good.example.com^", "good.example.com", RuleKind::kException},
      {"@@||good.example.com^$important", "good.example.com", RuleKind::kException},
      {"||cá-cược.vn^", "xn--c-cc-5na85j946j.vn", RuleKind::kBlock},
      {"||XN--C-CC-5NA85J946J.VN^", "xn--c-cc-5na85j946j.vn", RuleKind::kBlock},
      {"||_tracking.example^", "_tracking.example", RuleKind::kBlock},
      {"||1.2.3.4^", "1.2.3.4", RuleKind::kBlock},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParsedList l = read(c.text);
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == c.name);
    CHECK(l.domains[0].kind == c.kind);
    CHECK(l.domains[0].scope == Scope::kSubtree);
    CHECK(l.domains[0].line == 1);
    CHECK(l.stats.skipped.empty());
    CHECK(l.stats.rejects.empty());
  }
}

TEST_CASE("read_adblock: $important marks a block rule as outranking exceptions") {
  CHECK(read("||ads.example.com^$important").domains.at(0).important);
  CHECK(read("||ads.example.com^$document,Important").domains.at(0).important);
  CHECK_FALSE(read("||ads.example.com^").domains.at(0).important);
  CHECK_FALSE(read("||ads.example.com^$all").domains.at(0).important);
  // An exception with $important stays an exception; the flag is for blocks.
  CHECK_FALSE(read("@@||good.example.com^$important").domains.at(0).important);
}

TEST_CASE("read_adblock: skipped rules are counted by reason") {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"example.com##.banner", "cosmetic"},
      {"##.ad-box", "cosmetic"},
      {"example.com#@#.banner", "cosmetic"},
      {"example.com#?#div:has(> a.ad)", "cosmetic"},
      {"example.com#$#body { background: none }", "cosmetic"},
      {"example.com#%#//scriptlet('abort-on-property-read', 'x')", "cosmetic"},
      {"example.com$$script[data-ad]", "cosmetic"},
      {"||example.com/ads", "path"},
      {"||example.com^/ads/*", "path"},
      {"||example.com^*.js", "path"},
      {"||example.com?q=1", "path"},
      {"||example.com:8080^", "port"},
      {"||ads*.example.com^", "wildcard rule"},
      {"||*.example.com^", "wildcard rule"},
      {"/banner[0-9]+/", "regex rule"},
      {"@@/banner[0-9]+/", "regex rule"},
      {"/banner/$important", "regex rule"},
      {"|https://example.com/ads", "url rule"},
      {"0.0.0.0 example.com", "hosts-style rule"},
      {"::1 example.com", "hosts-style rule"},
      {"example.com", "substring rule"},
      {"-ad-banner.", "substring rule"},
      {"/ads/banner.js", "substring rule"},
      {"||example.com^$third-party", "unsupported option $third-party"},
      {"||example.com^$~third-party", "unsupported option $~third-party"},
      {"||example.com^$important,third-party", "unsupported option $third-party"},
      {"||example.com^$domain=a.example|b.example", "unsupported option $domain"},
      {"||example.com^$script", "unsupported option $script"},
      {"||example.com^$badfilter", "unsupported option $badfilter"},
      {"||example.com^$dnstype=AAAA", "unsupported option $dnstype"},
      {"@@||example.com^$denyallow=x.example", "unsupported option $denyallow"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParsedList l = read(c.text);
    CHECK(l.domains.empty());
    CHECK(l.stats.rejects.empty());
    REQUIRE(l.stats.skipped.size() == 1);
    CHECK(l.stats.skipped.begin()->first == c.reason);
    CHECK(l.stats.skipped.begin()->second == 1);
  }
}

TEST_CASE("read_adblock: comments and headers are neither rules nor skips") {
  ParsedList l =
      read("[Adblock Plus 2.0]\n! Title: x\n!\n# hosts-style comment\n#\n\n   \n[AdGuard]\n");
  CHECK(l.stats.lines == 8);
  CHECK(l.domains.empty());
  CHECK(l.stats.skipped.empty());
  CHECK(l.stats.rejects.empty());
}

TEST_CASE("read_adblock: bad names after || are rejects with their line") {
  ParsedList l =
      read("||ok.example^\n||^\n||bad%name.example^\n||" + std::string(64, 'x') + ".example^\n");
  REQUIRE(l.domains.size() == 1);
  REQUIRE(l.stats.rejects.size() == 3);
  CHECK(l.stats.rejects[0].line == 2);
  CHECK(l.stats.rejects[0].reason.starts_with("empty name"));
  CHECK(l.stats.rejects[1].line == 3);
  CHECK(l.stats.rejects[1].reason.starts_with("invalid character '%'"));
  CHECK(l.stats.rejects[2].line == 4);
  CHECK(l.stats.rejects[2].reason.starts_with("label longer than 63 octets"));
}

// Found by tests/fuzz/fuzz_list_adblock: a bare "@@" as the last bytes of the file read
// one byte past them. The text sits in a buffer of its exact size, so ASan sees any
// overread.
TEST_CASE("read_adblock: a bare @@ is a reject, even as the file's last bytes") {
  for (const std::string text : {"||a.example^\n@@", "||a.example^\n@@\n", "@@  "}) {
    CAPTURE(text);
    const auto buf = std::make_unique<char[]>(text.size());
    std::memcpy(buf.get(), text.data(), text.size());
    ParsedList l = read(std::string_view(buf.get(), text.size()));
    REQUIRE(l.stats.rejects.size() == 1);
    CHECK(l.stats.rejects[0].line == (text.front() == '@' ? 1u : 2u));
    CHECK(l.stats.rejects[0].reason.starts_with("empty exception rule"));
  }
}

TEST_CASE("read_adblock: BOM, CRLF, garbage never crash") {
  std::string text = "\xEF\xBB\xBF||a.example^\r\n\x01\x02\xff\xfe\r\n||b.example^";
  ParsedList l = read(text);
  CHECK(l.stats.lines == 3);
  REQUIRE(l.domains.size() == 2);
  CHECK(l.domains[0].name == "a.example");
  CHECK(l.domains[1].line == 3);
  CHECK(skipped_total(l) == 1);  // the garbage line is an (unusable) substring rule
}

TEST_CASE("adblock fixture through read_list_file") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/adblock.txt", Format::kAdblock);
  CHECK(l.stats.lines == 36);
  struct Want {
    const char* name;
    RuleKind kind;
    uint32_t line;
  };
  const Want want[] = {
      {"ads.example.com", RuleKind::kBlock, 5},
      {"tracker.example", RuleKind::kBlock, 6},
      {"good.ads.example.com", RuleKind::kException, 7},
      {"important.example", RuleKind::kBlock, 8},
      {"allowed.example", RuleKind::kException, 9},
      {"doc.example", RuleKind::kBlock, 10},
      {"no-caret.example", RuleKind::kBlock, 11},
      {"end-anchor.example", RuleKind::kBlock, 12},
      {"xn--c-cc-5na85j946j.vn", RuleKind::kBlock, 13},
      {"_underscore.example", RuleKind::kBlock, 15},
      {"123.456.example", RuleKind::kBlock, 16},
  };
  REQUIRE(l.domains.size() == std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    CAPTURE(i);
    CHECK(l.domains[i].name == want[i].name);
    CHECK(l.domains[i].kind == want[i].kind);
    CHECK(l.domains[i].line == want[i].line);
  }
  CHECK(l.stats.entries == 11);
  CHECK(l.stats.duplicates == 2);
  const std::map<std::string, size_t> want_skipped = {
      {"cosmetic", 5},
      {"hosts-style rule", 1},
      {"path", 2},
      {"port", 1},
      {"regex rule", 1},
      {"substring rule", 1},
      {"unsupported option $badfilter", 1},
      {"unsupported option $script", 1},
      {"unsupported option $third-party", 1},
      {"url rule", 1},
      {"wildcard rule", 1},
  };
  CHECK(l.stats.skipped == want_skipped);
  REQUIRE(l.stats.rejects.size() == 2);
  CHECK(l.stats.rejects[0].line == 34);
  CHECK(l.stats.rejects[1].line == 35);
}

}  // namespace
