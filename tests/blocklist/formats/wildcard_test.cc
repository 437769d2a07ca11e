// SPDX-License-Identifier: MIT
// wildcard_to_regex: what `*` matches (inside a label, a whole label, a leading label) and
// the rejects. The regexes are compiled with Hyperscan, as the matcher will, and run against
// names, so a test states which names match, not just the text produced.
#include "blocklist/formats/wildcard.h"

#include <doctest/doctest.h>
#include <hs/hs.h>

#include <string>
#include <vector>

namespace {

using sinkhole::blocklist::wildcard_to_regex;

// One Hyperscan database for one expression, with the scratch to scan it.
class HsRegex {
 public:
  explicit HsRegex(const std::string& expression) {
    hs_compile_error_t* error = nullptr;
    if (hs_compile(expression.c_str(), HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, nullptr, &db_, &error) !=
        HS_SUCCESS) {
      error_ = error ? error->message : "?";
      hs_free_compile_error(error);
      return;
    }
    hs_alloc_scratch(db_, &scratch_);
  }
  ~HsRegex() {
    hs_free_scratch(scratch_);
    hs_free_database(db_);
  }
  const std::string& error() const { return error_; }
  bool matches(std::string_view name) const {
    bool hit = false;
    hs_scan(
        db_, name.data(), static_cast<unsigned>(name.size()), 0, scratch_,
        [](unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
          *static_cast<bool*>(ctx) = true;
          return 1;
        },
        &hit);
    return hit;
  }

 private:
  hs_database_t* db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
  std::string error_;
};

TEST_CASE("wildcard_to_regex: expressions") {
  struct Case {
    const char* wildcard;
    const char* regex;
  };
  const Case cases[] = {
      {"*.bet*.com", R"(^(?:[^.]+\.)+bet[^.]*\.com$)"},
      {"*.BET*.COM.", R"(^(?:[^.]+\.)+bet[^.]*\.com$)"},
      {"ads.*.example", R"(^ads\.[^.]+\.example$)"},
      {"*bet.example", R"(^[^.]*bet\.example$)"},
      {"example.*", R"(^example\.[^.]+$)"},
      {"a**b.example", R"(^a[^.]*b\.example$)"},
      {"*.*.example", R"(^(?:[^.]+\.)+[^.]+\.example$)"},
      {"shop.*.cá-cược.vn", R"(^shop\.[^.]+\.xn--c-cc-5na85j946j\.vn$)"},
      {"_srv*.example", R"(^_srv[^.]*\.example$)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.wildcard);
    auto w = wildcard_to_regex(c.wildcard);
    REQUIRE(w.ok);
    CHECK(w.expression == c.regex);
    CHECK(HsRegex(w.expression).error() == "");  // the matcher will compile it the same way
  }
}

TEST_CASE("wildcard_to_regex: `*` stays inside a label; a leading `*.` is any depth below") {
  struct Case {
    const char* wildcard;
    std::vector<const char*> match;
    std::vector<const char*> no_match;
  };
  const Case cases[] = {
      {"*.bet*.com",
       {"www.bet365.com", "a.b.betway.com", "x.bet.com"},
       {"bet365.com", "www.bet.evil.com", "www.bet365.com.evil", "www.xbet.com"}},
      {"ads.*.example", {"ads.x.example"}, {"ads.example", "ads.x.y.example", "xads.x.example"}},
      {"*bet.example", {"bet.example", "superbet.example"}, {"a.bet.example", "bet.examplex"}},
      {"example.*", {"example.com", "example.org"}, {"example.co.uk", "www.example.com"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.wildcard);
    auto w = wildcard_to_regex(c.wildcard);
    REQUIRE(w.ok);
    HsRegex re(w.expression);
    REQUIRE_MESSAGE(re.error().empty(), re.error());
    for (const char* name : c.match) {
      CAPTURE(name);
      CHECK(re.matches(name));
    }
    for (const char* name : c.no_match) {
      CAPTURE(name);
      CHECK_FALSE(re.matches(name));
    }
  }
}

TEST_CASE("wildcard_to_regex: rejects") {
  struct Case {
    std::string wildcard;
    std::string reason;
  };
  const Case cases[] = {
      {"", "empty pattern"},
      {"*", "'*' alone matches every name"},
      {"*.", "'*' alone matches every name"},
      {"a..*", "empty label"},
      {"*.bad%*.example", "invalid character in a wildcard label"},
      {"*.cá*.vn", "invalid character in a wildcard label"},
      {"*." + std::string(64, 'a') + ".example", "label longer than 63 octets"},
      {"x*" + std::string(64, 'a') + ".example", "label longer than 63 octets"},
      {"*.ex ample.com", "invalid character '\\x20'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.wildcard);
    auto w = wildcard_to_regex(c.wildcard);
    CHECK_FALSE(w.ok);
    CHECK(w.reason == c.reason);
  }
}

}  // namespace
