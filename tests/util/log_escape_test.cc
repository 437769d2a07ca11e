// SPDX-License-Identifier: MIT
#include "util/log_escape.h"

#include <doctest/doctest.h>

#include <string>

using sinkhole::util::escape_for_log;

TEST_CASE("escape_for_log keeps printable ASCII and UTF-8, escapes the rest") {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"ads.Example.COM", "ads.Example.COM"},
      {"", ""},
      {"a\nb", "a\\x0ab"},
      {"a\r\nb", "a\\x0d\\x0ab"},
      {"\x1b[31mred", "\\x1b[31mred"},
      {std::string("nul\0byte", 8), "nul\\x00byte"},
      {"tab\there", "tab\\x09here"},
      {"del\x7f", "del\\x7f"},
      {"back\\slash", "back\\\\slash"},
      {"b\xc3\xbc"
       "cher.de",
       "b\xc3\xbc"
       "cher.de"},  // ü kept
      {"\xe4\xbe\x8b.\xe6\xb5\x8b\xe8\xaf\x95", "\xe4\xbe\x8b.\xe6\xb5\x8b\xe8\xaf\x95"},  // CJK
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},  // emoji (4 bytes)
      {"\xff\xfe", "\\xff\\xfe"},                // never valid UTF-8
      {"\xc3", "\\xc3"},                         // truncated sequence
      {"\xc0\xaf", "\\xc0\\xaf"},                // overlong
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},       // surrogate
      {"\xc2\x85next", "\\xc2\\x85next"},        // C1 NEL
      {"\xe2\x80\xa8", "\\xe2\\x80\\xa8"},       // U+2028 line separator
      {"\xe2\x80\xae"
       "evil",
       "\\xe2\\x80\\xae"
       "evil"},                          // U+202E right-to-left override
      {"\xe2\x82\xac", "\xe2\x82\xac"},  // € kept
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(escape_for_log(c.in) == c.out);
  }
}

TEST_CASE("escape_for_log cuts at max_len bytes of output and marks the cut") {
  CHECK(escape_for_log("abcdef", 6) == "abcdef");
  CHECK(escape_for_log("abcdefg", 6) == "abcdef\u2026");
  // An escape is never split: "\x0a" is 4 bytes and does not fit in the last 2.
  CHECK(escape_for_log("abcd\nef", 6) == "abcd\u2026");
  // Nor is a UTF-8 character.
  CHECK(escape_for_log("abcde\xc3\xbc", 6) == "abcde\u2026");
  const std::string garbage(1 << 20, '\x01');
  const std::string out = escape_for_log(garbage, 80);
  CHECK(out.size() <= 80 + std::string("\u2026").size());
  CHECK(out.find('\x01') == std::string::npos);
  CHECK(out.ends_with("\u2026"));
}

TEST_CASE("escaped output is one printable line") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = escape_for_log(all);
  for (char ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    CHECK((u >= 0x20 && u != 0x7f));
  }
}
