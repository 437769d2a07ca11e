// SPDX-License-Identifier: MIT
// parse_ede_template: literal text and the {list}, {category}, {line}, {file}, {authority},
// {reference} placeholders become pieces in order (adjacent text merged, no empty text
// pieces); unknown or unclosed placeholders are errors that say what is wrong. render_ede
// fills them in, clipped to the buffer. Also the names of the action kinds.
#include "policy/action.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using sinkhole::policy::Action;
using sinkhole::policy::ActionKind;
using sinkhole::policy::EdeFields;
using sinkhole::policy::EdeTemplate;
using sinkhole::policy::parse_ede_template;
using sinkhole::policy::render_ede;
using sinkhole::policy::to_string;
using Part = EdeTemplate::Part;

// "T:text" for text pieces, "list"/"category"/"line"/"file" for placeholders.
std::vector<std::string> describe(const EdeTemplate& t) {
  std::vector<std::string> out;
  for (const auto& p : t.pieces) {
    switch (p.part) {
      case Part::kText:
        out.push_back("T:" + p.text);
        break;
      case Part::kList:
        out.push_back("list");
        break;
      case Part::kCategory:
        out.push_back("category");
        break;
      case Part::kLine:
        out.push_back("line");
        break;
      case Part::kFile:
        out.push_back("file");
        break;
      case Part::kAuthority:
        out.push_back("authority");
        break;
      case Part::kReference:
        out.push_back("reference");
        break;
    }
    if (p.part != Part::kText) CHECK(p.text.empty());
  }
  return out;
}

std::vector<std::string> parse_ok(const std::string& text) {
  EdeTemplate t;
  std::string error = "untouched";
  INFO("template: ", text);
  REQUIRE(parse_ede_template(text, t, &error));
  CHECK(error == "untouched");  // success leaves the error alone
  return describe(t);
}

std::string parse_error(const std::string& text) {
  EdeTemplate t;
  std::string error;
  INFO("template: ", text);
  CHECK_FALSE(parse_ede_template(text, t, &error));
  CHECK_FALSE(error.empty());
  return error;
}

using V = std::vector<std::string>;

TEST_CASE("parse_ede_template: the decree example") {
  const V expected = {"T:Blocked under Decree 147/2024/ND-CP (list ", "list", "T:)"};
  CHECK(parse_ok("Blocked under Decree 147/2024/ND-CP (list {list})") == expected);
}

TEST_CASE("parse_ede_template: every placeholder, in order, with and without text") {
  const V all = {"list", "category", "line", "file"};
  CHECK(parse_ok("{list}{category}{line}{file}") == all);
  const V mixed = {"T:list ", "list", "T: (", "category", "T:) line ", "line", "T: of ", "file"};
  CHECK(parse_ok("list {list} ({category}) line {line} of {file}") == mixed);
  const V repeated = {"file", "T::", "line", "T: ", "file"};
  CHECK(parse_ok("{file}:{line} {file}") == repeated);
}

TEST_CASE("parse_ede_template: the legal basis placeholders") {
  const V basis = {"T:Blocked by ", "authority", "T: under ", "reference", "T: (", "list", "T:)"};
  CHECK(parse_ok("Blocked by {authority} under {reference} ({list})") == basis);
  CHECK(parse_error("{Authority}").find("unknown placeholder {Authority}") != std::string::npos);
  CHECK(parse_error("{basis}").find("unknown placeholder {basis}") != std::string::npos);
}

namespace {

std::string rendered(const std::string& text, const EdeFields& f, size_t cap = 512) {
  EdeTemplate t;
  REQUIRE(parse_ede_template(text, t, nullptr));
  char buf[512];
  REQUIRE(cap <= sizeof buf);
  return std::string(buf, render_ede(t, f, buf, cap));
}

}  // namespace

TEST_CASE("render_ede: every placeholder filled in from its field") {
  EdeFields f;
  f.list = "mic";
  f.category = "regulator";
  f.file = "/etc/sinkholed/lists/mic.rpz";
  f.line = 42;
  f.authority = "Bộ TT&TT";
  f.reference = "Decision 1234/QD-BTTTT";
  CHECK(rendered("{authority}: {reference} (list {list}, {category}, {file}:{line})", f) ==
        "Bộ TT&TT: Decision 1234/QD-BTTTT (list mic, regulator, "
        "/etc/sinkholed/lists/mic.rpz:42)");
  // A list without a basis: the placeholders are empty, the text around them stays.
  f.authority = {};
  f.reference = {};
  CHECK(rendered("[{authority}|{reference}] {list}", f) == "[|] mic");
  // Clipped to the buffer, never past it, even inside a placeholder.
  f.authority = "Ministry of Information and Communications";
  CHECK(rendered("by {authority}", f, 12) == "by Ministry ");
  CHECK(rendered("{authority}", f, 0).empty());
}

TEST_CASE("parse_ede_template: plain text and the empty template") {
  const V plain = {"T:Blocked by your ISP"};
  CHECK(parse_ok("Blocked by your ISP") == plain);
  CHECK(parse_ok("").empty());
  // A lone closing brace is text; so are words that merely look like placeholders.
  const V brace = {"T:a} list b"};
  CHECK(parse_ok("a} list b") == brace);
  // UTF-8 text passes through byte for byte.
  const V utf8 = {"T:Chặn theo Nghị định ", "list"};
  CHECK(parse_ok("Chặn theo Nghị định {list}") == utf8);
}

TEST_CASE("parse_ede_template: a reused template is cleared first") {
  EdeTemplate t;
  REQUIRE(parse_ede_template("old {list} text {line}", t, nullptr));
  CHECK(t.pieces.size() == 4);
  REQUIRE(parse_ede_template("{category}", t, nullptr));
  const V expected = {"category"};
  CHECK(describe(t) == expected);
  REQUIRE(parse_ede_template("", t, nullptr));
  CHECK(t.pieces.empty());
}

TEST_CASE("parse_ede_template: unknown placeholders are errors naming them") {
  const std::string bogus = parse_error("Blocked ({bogus})");
  CHECK(bogus.find("unknown placeholder {bogus}") != std::string::npos);
  CHECK(bogus.find("{list}, {category}, {line}, {file}, {authority}, {reference}") !=
        std::string::npos);
  // Placeholders are case-sensitive and have no spaces inside.
  CHECK(parse_error("{List}").find("{List}") != std::string::npos);
  CHECK(parse_error("{ list }").find("{ list }") != std::string::npos);
  CHECK(parse_error("{}").find("unknown placeholder {}") != std::string::npos);
  // An error after good pieces still fails the whole template.
  CHECK(parse_error("{list} then {nope}").find("{nope}") != std::string::npos);
  // "{{list}}" is the word "{list" followed by a stray '}': not an escape.
  CHECK(parse_error("{{list}}").find("unknown placeholder {{list}") != std::string::npos);
}

TEST_CASE("parse_ede_template: an unclosed brace is an error") {
  CHECK(parse_error("list {list").find("unclosed '{'") != std::string::npos);
  CHECK(parse_error("{").find("unclosed '{'") != std::string::npos);
  CHECK(parse_error("{list} and {").find("unclosed") != std::string::npos);
}

TEST_CASE("parse_ede_template: the error pointer may be null") {
  EdeTemplate t;
  CHECK_FALSE(parse_ede_template("{bogus}", t, nullptr));
  CHECK_FALSE(parse_ede_template("{unclosed", t, nullptr));
  CHECK(parse_ede_template("{line}", t, nullptr));
  REQUIRE(t.pieces.size() == 1);
  CHECK(t.pieces[0].part == Part::kLine);
}

TEST_CASE("action kinds have their configuration names; defaults of an Action") {
  CHECK(std::string(to_string(ActionKind::kSinkhole)) == "sinkhole");
  CHECK(std::string(to_string(ActionKind::kNxDomain)) == "nxdomain");
  CHECK(std::string(to_string(ActionKind::kNoData)) == "nodata");
  CHECK(std::string(to_string(ActionKind::kRefused)) == "refused");
  CHECK(std::string(to_string(ActionKind::kDrop)) == "drop");
  CHECK(std::string(to_string(ActionKind::kCname)) == "cname");
  CHECK(std::string(to_string(ActionKind::kPassthru)) == "passthru");
  CHECK(std::string(to_string(ActionKind::kTcpOnly)) == "tcp-only");
  CHECK(std::string(to_string(ActionKind::kLocalData)) == "local-data");
  const Action a;
  CHECK(a.ede_code == 15);  // RFC 8914 Blocked
  CHECK(a.ede);
  CHECK(a.ttl == 300);
  CHECK(a.soa_ttl == 300);
  CHECK(a.ede_text.pieces.empty());
}

}  // namespace
