// SPDX-License-Identifier: MIT
// LineSplitter and the field helpers every line reader uses: BOM, CRLF, a missing final
// newline, blank lines, and 1-based physical line numbers.
#include "blocklist/formats/line_splitter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using namespace sinkhole::blocklist;

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  LineSplitter s(text);
  std::string_view line;
  while (s.next(line)) {
    out.emplace_back(line);
    CHECK(s.line_number() == out.size());
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST_CASE("LineSplitter") {
  CHECK(split("") == Lines{});
  CHECK(split("a") == Lines{"a"});
  CHECK(split("a\n") == Lines{"a"});
  CHECK(split("a\nb") == Lines{"a", "b"});
  CHECK(split("a\r\nb\r\n") == Lines{"a", "b"});
  CHECK(split("a\r\n\r\nb") == Lines{"a", "", "b"});
  CHECK(split("\n\n") == Lines{"", ""});
  CHECK(split("\xEF\xBB\xBF"
              "a\n") == Lines{"a"});
  CHECK(split("\xEF\xBB\xBF") == Lines{});
  CHECK(split("a\xEF\xBB\xBF\n") == Lines{"a\xEF\xBB\xBF"});  // only a leading BOM is one
  CHECK(split("a\rb\n") == Lines{"a\rb"});                    // a lone CR is no line end
}

TEST_CASE("trim, strip_hash_comment, next_field") {
  CHECK(trim(" \t a b \r") == "a b");
  CHECK(trim("   ").empty());
  CHECK(strip_hash_comment("name # c") == "name ");
  CHECK(strip_hash_comment("# c").empty());
  CHECK(strip_hash_comment("name") == "name");
  std::string_view rest = "  one\ttwo   three ";
  CHECK(next_field(rest) == "one");
  CHECK(next_field(rest) == "two");
  CHECK(next_field(rest) == "three");
  CHECK(next_field(rest).empty());
  CHECK(next_field(rest).empty());
}

}  // namespace
