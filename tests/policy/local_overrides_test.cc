// SPDX-License-Identifier: MIT
// Local overrides (policy/local_overrides.h): name checks, the file's round trip, the edit
// rules of block/unblock.
#include "policy/local_overrides.h"

#include <doctest/doctest.h>

using namespace sinkhole::policy;

TEST_CASE("override names: normalised, garbage refused with a reason") {
  std::string err;
  CHECK(check_override_name("Bad.Example.", &err) == "bad.example");
  CHECK(check_override_name("x_y.example-1.com", &err) == "x_y.example-1.com");
  for (const char* bad : {"", ".", "com", "a..b", "-a.b", "a-.b", "a b.c", "*.x.com", "x/y.com",
                          "a.b\n", "ex\xc3\xa9.com"}) {
    err.clear();
    INFO(bad);
    CHECK(check_override_name(bad, &err).empty());
    CHECK_FALSE(err.empty());
  }
  CHECK(check_override_name(std::string(64, 'a') + ".com", &err).empty());
  CHECK(check_override_name(std::string(63, 'a') + ".com", &err).size() == 67);
}

TEST_CASE("override edits: block and unblock of one name and scope cancel out") {
  std::vector<OverrideEntry> e;
  CHECK(apply_block(e, "bad.example", "", "order 7") == OverrideEdit::kAddedBlock);
  CHECK(apply_block(e, "bad.example", "", "") == OverrideEdit::kUnchanged);
  CHECK(e.size() == 1);
  CHECK(e[0].reason == "order 7");  // an empty reason keeps the one given
  CHECK(apply_block(e, "bad.example", "ads", "") == OverrideEdit::kAddedBlock);  // other scope
  CHECK(e.size() == 2);
  CHECK(apply_unblock(e, "bad.example", "", "") == OverrideEdit::kRemovedBlock);
  CHECK(e.size() == 1);
  CHECK(e[0].list == "ads");
  CHECK(apply_unblock(e, "good.example", "mic", "court") == OverrideEdit::kAddedException);
  CHECK(apply_unblock(e, "good.example", "mic", "") == OverrideEdit::kUnchanged);
  CHECK(apply_block(e, "good.example", "mic", "again") == OverrideEdit::kReplacedUnblock);
  CHECK(e.size() == 2);
  CHECK(e[1].block);
  CHECK(e[1].reason == "again");
}

TEST_CASE("override file: round trip; tabs and newlines in a reason cannot break a line") {
  std::vector<OverrideEntry> e;
  apply_block(e, "a.example", "", "line1\nline2\tx");
  apply_unblock(e, "b.example", "mic", "");
  const std::string text = render_overrides(e);
  const auto back = parse_overrides(text + "garbage line\nblock\tnot a name\t*\t\n");
  REQUIRE(back.size() == 2);
  CHECK(back[0].block);
  CHECK(back[0].name == "a.example");
  CHECK(back[0].list.empty());
  CHECK(back[0].reason == "line1 line2 x");
  CHECK(back[0].line == 2);  // after the header line
  CHECK_FALSE(back[1].block);
  CHECK(back[1].list == "mic");
  CHECK(is_override_list("local-overrides"));
  CHECK(is_override_list("local-overrides@mic"));
  CHECK(is_override_list("local-overrides.except@mic"));
  CHECK_FALSE(is_override_list("mic"));
}
