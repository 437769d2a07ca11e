// SPDX-License-Identifier: MIT
// semantic_checks: each strict check on a configuration made to trip it, with its message
// and its exact file:line:column (or the list file's line), and a clean configuration that
// gives no finding at all. The public suffixes are a small list given by the test; local
// addresses too, so the results do not depend on the machine.
#include "policy/semantic_checks.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "policy/snapshot_builder.h"
#include "resolver/config/config.h"
#include "resolver/config/yaml_reader.h"
#include "tests/policy/temp_dir.h"

namespace {

using sinkhole::config::SocketAddress;
using sinkhole::policy::Finding;
using sinkhole::policy::PublicSuffixes;
using sinkhole::test::TempDir;

const PublicSuffixes& suffixes() {
  static const PublicSuffixes s = PublicSuffixes::parse(
      "// ===BEGIN ICANN DOMAINS===\nvn\ncom.vn\ncom\n*.ck\n!www.ck\n// ===END ICANN DOMAINS===\n"
      "// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n// ===END PRIVATE DOMAINS===\n");
  return s;
}

// line:column (1-based) of the nth occurrence of `needle` in `text`.
std::pair<unsigned, unsigned> pos(std::string_view text, std::string_view needle, int nth = 1) {
  size_t at = std::string_view::npos, from = 0;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, from);
    REQUIRE(at != std::string_view::npos);
    from = at + 1;
  }
  unsigned line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

struct Env {
  TempDir tmp;
  std::string config = tmp.config();
  std::vector<SocketAddress> locals;
  Env() {
    tmp.write("a.txt", "a.example\n");
    tmp.write("b.txt", "b.example\n");
  }

  std::vector<Finding> run(const std::string& yaml) {
    const auto doc = sinkhole::config::parse_document(yaml, config);
    REQUIRE(doc.document);
    const auto cfg = sinkhole::config::parse_config(*doc.document);
    std::string errors;
    for (const auto& e : cfg.errors) errors += e + "\n";
    INFO(errors);
    REQUIRE(cfg.config);
    const auto built = sinkhole::policy::build_snapshot(*doc.document, 1);
    for (const auto& e : built.errors) errors += e + "\n";
    INFO(errors);
    REQUIRE(built.snapshot);
    return sinkhole::policy::semantic_checks(
        {*doc.document, *cfg.config, *built.snapshot, &suffixes(), locals});
  }

  // Exactly one finding, of `check`, at the nth `needle` of the YAML, saying `pieces`.
  void one(const std::string& yaml, const char* check, std::string_view needle,
           std::initializer_list<std::string_view> pieces, int nth = 1) {
    INFO("yaml:\n", yaml);
    const auto found = run(yaml);
    std::string all;
    for (const auto& f : found) all += f.to_string() + "\n";
    INFO("findings:\n", all);
    REQUIRE(found.size() == 1);
    const Finding& f = found[0];
    CHECK(f.check == check);
    CHECK(f.file == config);
    const auto [line, col] = pos(yaml, needle, nth);
    CHECK(f.line == line);
    CHECK(f.column == col);
    for (auto p : pieces) {
      INFO("expected: ", p);
      CHECK(f.message.find(p) != std::string::npos);
    }
    CHECK(!f.hint.empty());
    CHECK(f.to_string().rfind(
              config + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ", 0) == 0);
  }
};

const std::string kHead = "upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt }\n";

TEST_CASE("a clean configuration gives no finding") {
  Env env;
  const std::string yaml =
      "server:\n  listen: [\"127.0.0.1:53\", \"[::1]:53\"]\n"
      "upstreams: [192.0.2.53, \"127.0.0.1:5300\"]\n"
      "lists:\n  a: { path: a.txt }\n  b: { path: b.txt, action: page }\n"
      "actions:\n  page: { type: sinkhole, a: 192.0.2.1 }\n  nxdomain: { type: nxdomain, soa_ttl: "
      "5 }\n"
      "policies:\n"
      "  - name: staff\n    clients: [10.1.0.0/16]\n    allow: [a]\n    block: [b]\n"
      "  - name: all\n    clients: [10.0.0.0/8, \"::/0\"]\n    block: [a, b]\n"
      "  - name: guests\n    block: [{ list: b, action: nxdomain }]\n"
      "default_policy: guests\n";
  const auto found = env.run(yaml);
  std::string all;
  for (const auto& f : found) all += f.to_string() + "\n";
  INFO(all);
  CHECK(found.empty());
}

TEST_CASE("policy-no-clients: a policy without clients that is not the default") {
  Env env;
  env.one(kHead + "policies:\n  - name: p\n    block: [a]\n", "policy-no-clients", "p\n",
          {"policy 'p' has no clients and is not the default_policy",
           "(clients in no policy are REFUSED)"});
  env.one(kHead +
              "policies:\n  - name: p\n    clients: []\n    block: [a]\n"
              "  - name: q\n    clients: [10.0.0.0/8]\n    block: [{ list: a, action: drop }]\n"
              "default_policy: q\n",
          "policy-no-clients", "p\n", {"policy 'p' has no clients"});
}

TEST_CASE("allow-and-block: one list in both of a policy") {
  Env env;
  env.one(kHead +
              "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    allow: [a]\n"
              "    block: [{ list: a }]\n",
          "allow-and-block", "a }",
          {"list 'a' is in both allow (line 7) and block of policy 'p'", "blocks nothing"});
}

TEST_CASE("duplicate-rule: one list twice in a policy's block or allow") {
  Env env;
  env.one(kHead + "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a, a]\n",
          "duplicate-rule", "a]", {"list 'a' is twice in policy 'p'.block (first at line 7)"});
  env.one(kHead +
              "  b: { path: b.txt }\npolicies:\n  - name: p\n    clients: [10.0.0.0/8]\n"
              "    allow: [b, b]\n    block: [a]\n",
          "duplicate-rule", "b]", {"list 'b' is twice in policy 'p'.allow"});
}

TEST_CASE("duplicate-policy: the same rules as an earlier policy") {
  Env env;
  env.one(kHead +
              "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n"
              "  - name: q\n    clients: [192.168.0.0/16]\n    block: [a]\n",
          "duplicate-policy", "q\n",
          {"policy 'q' has the same allow and block rules as policy 'p' (line 5)"});
  // A different action is a different rule.
  const auto found = env.run(
      kHead +
      "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n"
      "  - name: q\n    clients: [192.168.0.0/16]\n    block: [{ list: a, action: drop }]\n");
  CHECK(found.empty());
}

TEST_CASE("policy-never-matches: every prefix covered by more specific ones") {
  Env env;
  env.one(kHead +
              "  b: { path: b.txt }\npolicies:\n"
              "  - name: wide\n    clients: [10.0.0.0/24]\n    block: [a]\n"
              "  - name: low\n    clients: [10.0.0.0/25]\n    block: [b]\n"
              "  - name: high\n    clients: [10.0.0.128/26, 10.0.0.192/26]\n    block: [a, b]\n",
          "policy-never-matches", "wide",
          {"policy 'wide' can never match", "of policy 'low', 'high'"});
  // One address left uncovered (10.0.0.255 is in no longer prefix): no finding.
  const auto found = env.run(kHead +
                             "  b: { path: b.txt }\npolicies:\n"
                             "  - name: wide\n    clients: [10.0.0.0/24]\n    block: [a]\n"
                             "  - name: low\n    clients: [10.0.0.0/25, 10.0.0.128/26, "
                             "10.0.0.192/27, 10.0.0.224/28]\n    block: [b]\n");
  CHECK(found.empty());
  // IPv4-mapped IPv6 prefixes count as the IPv4 ones they name.
  env.one(kHead +
              "  b: { path: b.txt }\npolicies:\n"
              "  - name: wide\n    clients: [\"::ffff:10.0.0.0/120\"]\n    block: [a]\n"
              "  - name: low\n    clients: [10.0.0.0/25, 10.0.0.128/25]\n    block: [b]\n",
          "policy-never-matches", "wide", {"policy 'wide' can never match"});
}

TEST_CASE("unused-list and unused-action") {
  Env env;
  env.one(kHead +
              "  b: { path: b.txt }\npolicies:\n  - name: p\n    clients: [10.0.0.0/8]\n"
              "    block: [a]\n",
          "unused-list", "b:", {"list 'b' is not used by any policy: its 1 entries are loaded"});
  env.one(kHead +
              "actions:\n  page: { type: sinkhole, a: 192.0.2.1 }\n"
              "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n",
          "unused-action", "page", {"action 'page' is not used by any list or block rule"});
  // Used by a list's own action: no finding.
  const auto found = env.run(
      "upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt, action: page }\n"
      "actions:\n  page: { type: sinkhole, a: 192.0.2.1 }\n"
      "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n");
  CHECK(found.empty());
}

TEST_CASE("basis-missing: an EDE text naming a legal basis the list does not have") {
  Env env;
  const std::string actions =
      "actions:\n  legal: { type: nxdomain, ede_text: \"by {authority} under {reference}\" }\n";
  // No basis at all: both named, at the block rule's list.
  env.one("upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt }\n" + actions +
              "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n"
              "    block: [{ list: a, action: legal }]\n",
          "basis-missing", "a, action",
          {"action 'legal' names the legal basis in its EDE text, but list 'a' has no "
           "basis.authority and reference"});
  // Only the reference missing; the action as the list's own default.
  env.one(
      "upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt, action: legal, basis: { "
      "authority: MIC } }\n" +
          actions + "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n",
      "basis-missing", "a]", {"list 'a' has no basis.reference"});
  // Both present, or an action that does not name them: nothing.
  CHECK(env.run("upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt, basis: { authority: MIC, "
                "reference: \"No. 1\" } }\n  b: { path: b.txt }\n" +
                actions +
                "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n"
                "    block: [{ list: a, action: legal }, b]\n")
            .empty());
}

TEST_CASE("forwards-to-self: an upstream that is our own listen address") {
  Env env;
  const std::string tail = "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a]\n";
  env.one(
      "server:\n  listen: [\"127.0.0.1:5353\"]\nupstreams: [192.0.2.53, \"127.0.0.1:5353\"]\n"
      "lists:\n  a: { path: a.txt }\n" +
          tail,
      "forwards-to-self", "\"127.0.0.1:5353\"]\nlists",
      {"upstream 127.0.0.1:5353 is our own listen address 127.0.0.1:5353"});
  // A wildcard listener covers loopback and this machine's addresses on its port.
  env.one(
      "server:\n  listen: [\"0.0.0.0:53\"]\nupstreams: [127.0.0.53]\n"
      "lists:\n  a: { path: a.txt }\n" +
          tail,
      "forwards-to-self", "127.0.0.53", {"0.0.0.0:53, which covers every local address"});
  env.locals.push_back(*SocketAddress::parse("192.0.2.9", 0));
  env.one(
      "server:\n  listen: [\"[::1]:53\", \"0.0.0.0:53\"]\nupstreams: [192.0.2.9]\n"
      "lists:\n  a: { path: a.txt }\n" +
          tail,
      "forwards-to-self", "192.0.2.9", {"upstream 192.0.2.9:53"});
  // Another port is another server.
  CHECK(env.run("server:\n  listen: [\"0.0.0.0:53\"]\nupstreams: [\"192.0.2.9:5300\"]\n"
                "lists:\n  a: { path: a.txt }\n" +
                tail)
            .empty());
}

TEST_CASE("open-resolver: a public listener that admits everyone") {
  Env env;
  const std::string tail =
      "upstreams: [192.0.2.53]\nlists:\n  a: { path: a.txt }\n"
      "policies:\n  - name: p\n    clients: [0.0.0.0/0]\n    block: [a]\n";
  env.one(
      "server:\n  listen: [\"127.0.0.1:53\", \"0.0.0.0:53\"]\n"
      "  allow_query: [10.0.0.0/8, 0.0.0.0/0]\n" +
          tail,
      "open-resolver", "0.0.0.0/0]",
      {"server.allow_query admits every address (0.0.0.0/0)", "listens on 0.0.0.0:53"});
  // Loopback only, or the default allow_query (private ranges): no finding.
  CHECK(env.run("server:\n  listen: [\"127.0.0.1:53\"]\n  allow_query: [0.0.0.0/0]\n" + tail)
            .empty());
  CHECK(env.run("server:\n  listen: [\"0.0.0.0:53\"]\n" + tail).empty());
}

TEST_CASE("public-suffix: a list entry that is a TLD or public suffix") {
  Env env;
  const std::string list = env.tmp.write("tld.txt", "ok.example\nvn\nshop.com.vn\ncom.vn\n");
  const std::string tail = "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [t]\n";
  const auto found = env.run("upstreams: [192.0.2.53]\nlists:\n  t: { path: tld.txt }\n" + tail);
  REQUIRE(found.size() == 2);
  CHECK(found[0].check == "public-suffix");
  CHECK(found[0].file == list);
  CHECK(found[0].line == 2);
  CHECK(found[0].message ==
        "list 't' entry 'vn' is a top-level domain: it covers every name "
        "under .vn");
  CHECK(found[1].line == 4);
  CHECK(found[1].message.find("'com.vn' is a public suffix") != std::string::npos);
  CHECK(found[1].hint.find("allow_suffix: true") != std::string::npos);
  CHECK(found[0].to_string().rfind(list + ":2: list 't' entry 'vn'", 0) == 0);
  // AdBlock and RPZ subdomain rules too; a private suffix says so; exceptions do not count.
  env.tmp.write("tld.adblock", "||github.io^\n@@||com^\n||x.github.io^\n");
  const auto ab = env.run("upstreams: [192.0.2.53]\nlists:\n  t: { path: tld.adblock }\n" + tail);
  REQUIRE(ab.size() == 1);
  CHECK(ab[0].message.find("'github.io' is a public suffix (private)") != std::string::npos);
  // allow_suffix: true says it is meant.
  CHECK(env.run("upstreams: [192.0.2.53]\nlists:\n  t: { path: tld.txt, allow_suffix: true }\n" +
                tail)
            .empty());
}

TEST_CASE("the public suffix list parser keeps rules, wildcard bases and sections") {
  const auto& s = suffixes().suffixes();
  std::vector<std::string> names;
  for (const auto& x : s) names.push_back(x.name);
  CHECK(names == std::vector<std::string>{"vn", "com.vn", "com", "ck", "github.io"});
  CHECK(s[0].icann);
  CHECK(!s[4].icann);
  // The system copy (Debian's publicsuffix package) loads and has the TLDs.
  const auto& sys = PublicSuffixes::system();
  INFO(sys.error());
  REQUIRE(!sys.empty());
  bool vn = false, com_vn = false;
  for (const auto& x : sys.suffixes()) {
    vn = vn || x.name == "vn";
    com_vn = com_vn || x.name == "com.vn";
  }
  CHECK(vn);
  CHECK(com_vn);
  CHECK(sys.suffixes().size() > 5000);
}

}  // namespace
