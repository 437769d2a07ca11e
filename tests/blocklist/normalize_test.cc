// SPDX-License-Identifier: MIT
// normalize_name: case, trailing dot, IDNA (Unicode and punycode give one name), the label
// and name limits, and the DNS-legal names real lists contain (underscores, all-digit labels,
// bare IPv4 addresses).
#include "blocklist/normalize.h"

#include <doctest/doctest.h>

#include <string>

namespace {

using sinkhole::blocklist::normalize_name;

// cá-cược.vn, as libidn2 (UTS #46 non-transitional) encodes it.
constexpr const char* kCaCuocPunycode = "xn--c-cc-5na85j946j.vn";

TEST_CASE("normalize_name accepts and canonicalises") {
  struct Case {
    std::string raw;
    std::string want;
  };
  const Case cases[] = {
      {"example.com", "example.com"},
      {"ExAmPlE.CoM", "example.com"},
      {"example.com.", "example.com"},
      {"WWW.Example.COM.", "www.example.com"},
      {"_dmarc.example.com", "_dmarc.example.com"},
      {"_Sip._TCP.example.com", "_sip._tcp.example.com"},
      {"123.456.example", "123.456.example"},
      {"192.168.10.1", "192.168.10.1"},  // UT1 lists hold bare IPv4 addresses
      {"-leading-hyphen.example", "-leading-hyphen.example"},
      {"a", "a"},
      {"cá-cược.vn", kCaCuocPunycode},
      {"CÁ-CƯỢC.VN", kCaCuocPunycode},
      {"XN--C-CC-5NA85J946J.VN", kCaCuocPunycode},
      {"xn--c-cc-5na85j946j.vn.", kCaCuocPunycode},
      {"cá-cược.vn.", kCaCuocPunycode},
      {"www.münchen.de", "www.xn--mnchen-3ya.de"},
      {"straße.de", "xn--strae-oqa.de"},              // IDNA2008: ß is kept, not mapped to ss
      {"_tcp.münchen.de", "_tcp.xn--mnchen-3ya.de"},  // ASCII labels keep their underscore
      {"cá。vn", "xn--c-ufa.vn"},                     // ideographic full stop separates labels
      {std::string(63, 'a') + ".com", std::string(63, 'a') + ".com"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw);
    auto n = normalize_name(c.raw);
    CHECK(n.ok);
    CHECK(n.name == c.want);
    CHECK(n.reason.empty());
  }
}

TEST_CASE("normalize_name rejects with a reason") {
  std::string label63 = std::string(63, 'a');
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  REQUIRE(name253.size() == 253);
  struct Case {
    std::string raw;
    std::string reason;
  };
  const Case cases[] = {
      {"", "empty name"},
      {".", "empty name"},
      {"example..com", "empty label"},
      {".example.com", "empty label"},
      {"example.com..", "empty label"},
      {std::string(64, 'a') + ".com", "label longer than 63 octets"},
      {"www." + std::string(64, 'a'), "label longer than 63 octets"},
      {name253 + "b", "name longer than 253"},
      {"ex%ample.com", "invalid character '%'"},
      {"exa mple.com", "invalid character '\\x20'"},
      {"*.example.com", "invalid character '*'"},
      {"example.com/path", "invalid character '/'"},
      {"a\x01.com", "invalid character '\\x01'"},
      {"\xff\xfe.com", "IDNA: string encoding error"},
      {std::string("c\xc3\xa1\0evil.vn", 11), "invalid character '\\x00'"},
      {"\xe2\x92\x88.com", "IDNA: string contains a disallowed character"},  // ⒈
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw);
    auto n = normalize_name(c.raw);
    CHECK_FALSE(n.ok);
    CHECK(n.reason == c.reason);
  }
  CHECK(normalize_name(name253).ok);
  CHECK(normalize_name(name253 + ".").ok);  // the trailing dot does not count
}

TEST_CASE("normalize_name is idempotent on its output") {
  for (const char* raw : {"cá-cược.vn", "Foo.Bar.", "_a.1.2.3.4", "straße.de"}) {
    CAPTURE(raw);
    auto once = normalize_name(raw);
    REQUIRE(once.ok);
    auto twice = normalize_name(once.name);
    REQUIRE(twice.ok);
    CHECK(twice.name == once.name);
  }
}

}  // namespace
