// SPDX-License-Identifier: MIT
// The legal basis of a list (policy/legal_basis.h): `basis: { authority, reference, date,
// url }` read into ListData::basis; every bad value an error at its own file:line:column
// (unknown key, not a mapping, empty mapping, empty / too long / control-character text, a
// date that is not a real YYYY-MM-DD day, a url that is not http(s)://host); the EDE
// template's {authority} and {reference} and explain() carry it.
#include "policy/legal_basis.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "policy/explain.h"
#include "policy/snapshot_builder.h"
#include "tests/policy/temp_dir.h"

namespace {

using sinkhole::policy::BuildResult;
using sinkhole::policy::valid_basis_url;
using sinkhole::policy::valid_iso_date;

// "line:column" (1-based) of the first occurrence of `needle` in `text`.
std::string pos(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  REQUIRE(at != std::string_view::npos);
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

struct Env {
  sinkhole::test::TempDir tmp;
  std::string config;
  Env() {
    tmp.write("mic.txt", "casino.example\n");
    config = tmp.path("sinkholed.yaml");
  }
  BuildResult build(const std::string& yaml) const {
    return sinkhole::policy::build_snapshot(yaml, config, 1);
  }
  // A list `mic` whose basis is `basis` (YAML flow or block text after "basis:").
  static std::string with_basis(const std::string& basis) {
    return "actions:\n"
           "  legal: { type: nxdomain, ede_text: \"Blocked by {authority} under {reference} "
           "(list {list})\" }\n"
           "lists:\n"
           "  mic:\n"
           "    path: mic.txt\n"
           "    basis: " +
           basis +
           "\n"
           "policies:\n"
           "  - { name: all, clients: [0.0.0.0/0, \"::/0\"], block: [{ list: mic, action: legal "
           "}] }\n";
  }
  // The build failed with one error at `needle`'s position holding every piece.
  void one_error(const std::string& yaml, std::string_view needle,
                 std::initializer_list<std::string_view> pieces) const {
    INFO("yaml:\n", yaml);
    const auto r = build(yaml);
    CHECK(r.snapshot == nullptr);
    REQUIRE(r.errors.size() == 1);
    const std::string prefix = config + ":" + pos(yaml, needle) + ": ";
    INFO("error: ", r.errors.front());
    INFO("expected prefix: ", prefix);
    CHECK(r.errors.front().rfind(prefix, 0) == 0);
    for (auto p : pieces) {
      INFO("expected in message: ", p);
      CHECK(r.errors.front().find(p) != std::string::npos);
    }
  }
};

}  // namespace

TEST_CASE("valid_iso_date: real calendar days written YYYY-MM-DD only") {
  for (const char* ok : {"2024-11-09", "2000-02-29", "2024-02-29", "1999-12-31", "2025-01-01"}) {
    CAPTURE(ok);
    CHECK(valid_iso_date(ok));
  }
  for (const char* bad : {"", "2024-1-09", "2024/11/09", "09-11-2024", "2024-13-01", "2024-00-10",
                          "2024-11-00", "2024-11-31", "2023-02-29", "1900-02-29", "2024-11-09T00",
                          "20241109", "2024-11-0x", " 2024-11-09", "+024-11-09"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_iso_date(bad));
  }
}

TEST_CASE("valid_basis_url: http(s) with a host, no spaces or control bytes") {
  for (const char* ok : {"https://regulator.example/decisions/1234", "http://mic.example",
                         "HTTPS://Example.org/a?b=c#d", "https://[2001:db8::1]/x"}) {
    CAPTURE(ok);
    CHECK(valid_basis_url(ok));
  }
  for (const char* bad : {"", "ftp://x.example/", "javascript:alert(1)", "https://", "http:///path",
                          "https://a b.example/", "https://x.example/\n", "//x.example/",
                          "x.example", "https:x.example"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_basis_url(bad));
  }
}

TEST_CASE("basis: the four fields are read into the list; a list without one has none") {
  Env env;
  const std::string yaml = Env::with_basis(
                               "{ authority: \"Bộ Thông tin và Truyền thông\", reference: "
                               "\"Decision 1234/QD-BTTTT\", date: 2024-11-09, url: "
                               "\"https://regulator.example/decisions/1234\" }") +
                           "  - { name: other, clients: [10.0.0.0/8], block: [plain] }\n";
  const std::string with_plain = yaml.substr(0, yaml.find("policies:")) +
                                 "  plain: { path: mic.txt }\n" +
                                 yaml.substr(yaml.find("policies:"));
  const auto r = env.build(with_plain);
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.snapshot);
  const auto& mic = r.snapshot->lists[0];
  CHECK(mic.name == "mic");
  CHECK(mic.basis.authority == "Bộ Thông tin và Truyền thông");
  CHECK(mic.basis.reference == "Decision 1234/QD-BTTTT");
  CHECK(mic.basis.date == "2024-11-09");
  CHECK(mic.basis.url == "https://regulator.example/decisions/1234");
  CHECK_FALSE(mic.basis.empty());
  const auto& plain = r.snapshot->lists[1];
  CHECK(plain.name == "plain");
  CHECK(plain.basis.empty());
}

TEST_CASE("basis: any one field alone is enough") {
  Env env;
  for (const char* b : {"{ authority: MIC }", "{ reference: \"No. 5\" }", "{ date: 2024-01-31 }",
                        "{ url: \"http://regulator.example\" }"}) {
    CAPTURE(b);
    const auto r = env.build(Env::with_basis(b));
    CHECK(r.snapshot);
    if (r.snapshot) CHECK_FALSE(r.snapshot->lists[0].basis.empty());
  }
}

TEST_CASE("basis: each bad value is an error at its file:line:column") {
  Env env;
  env.one_error(
      Env::with_basis("{ authority: MIC, autority: x }"), "autority",
      {"unknown key 'autority'", "list 'mic'.basis", "(known: authority, date, reference, url)"});
  env.one_error(Env::with_basis("\"Decision 12\""), "\"Decision 12\"",
                {"list 'mic'.basis must be a mapping"});
  env.one_error(Env::with_basis("{}"), "{}", {"list 'mic'.basis: give at least one of"});
  env.one_error(Env::with_basis("{ authority: \"\" }"), "\"\"",
                {"list 'mic'.basis.authority is empty"});
  env.one_error(Env::with_basis("{ reference: [a, b] }"), "[a, b]",
                {"list 'mic'.basis.reference must be a scalar"});
  env.one_error(Env::with_basis("{ reference: \"line\\nbreak\" }"), "\"line",
                {"list 'mic'.basis.reference holds a control character"});
  env.one_error(Env::with_basis("{ authority: " + std::string(256, 'x') + " }"), "xxx",
                {"list 'mic'.basis.authority is longer than 255 bytes"});
  env.one_error(Env::with_basis("{ authority: MIC, date: 2024-02-30 }"), "2024-02-30",
                {"list 'mic'.basis.date: '2024-02-30' is not a date written YYYY-MM-DD"});
  env.one_error(Env::with_basis("{ date: 09/11/2024 }"), "09/11", {"'09/11/2024' is not a date"});
  env.one_error(Env::with_basis("{ url: \"ftp://regulator.example/x\" }"), "\"ftp",
                {"list 'mic'.basis.url: 'ftp://regulator.example/x' is not an http:// or "
                 "https:// address"});
  env.one_error(Env::with_basis("{ url: \"javascript:alert(1)\" }"), "\"javascript",
                {"is not an http:// or https:// address"});
}

TEST_CASE("basis in block style, at a reload-like second build, and 255 bytes exactly") {
  Env env;
  const std::string block = "\n      authority: " + std::string(255, 'a') +
                            "\n      reference: \"Order 7\"\n      date: 2000-02-29";
  const auto r = env.build(Env::with_basis(block));
  INFO((r.errors.empty() ? std::string() : r.errors.front()));
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->lists[0].basis.authority.size() == 255);
  CHECK(r.snapshot->lists[0].basis.date == "2000-02-29");
}

TEST_CASE("explain: the deciding list's basis and the EDE text with {authority}/{reference}") {
  Env env;
  const auto r =
      env.build(Env::with_basis("{ authority: MIC, reference: \"Decision 1234/QD-BTTTT\", date: "
                                "2024-11-09, url: \"https://regulator.example/d/1234\" }"));
  REQUIRE(r.snapshot);
  sockaddr_storage client{};
  REQUIRE(sinkhole::policy::parse_client_address("192.0.2.1", client));
  const auto* sa = reinterpret_cast<const sockaddr*>(&client);
  const auto e = sinkhole::policy::explain(*r.snapshot, "www.casino.example", sa);
  CHECK(e.outcome == sinkhole::policy::Explanation::Outcome::kBlocked);
  CHECK(e.ede_text == "Blocked by MIC under Decision 1234/QD-BTTTT (list mic)");
  CHECK(e.basis.authority == "MIC");
  CHECK(e.basis.reference == "Decision 1234/QD-BTTTT");
  CHECK(e.basis.date == "2024-11-09");
  CHECK(e.basis.url == "https://regulator.example/d/1234");
  // A name no list holds carries no basis.
  const auto allowed = sinkhole::policy::explain(*r.snapshot, "news.example", sa);
  CHECK(allowed.outcome == sinkhole::policy::Explanation::Outcome::kAllowed);
  CHECK(allowed.basis.empty());
}
