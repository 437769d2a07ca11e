// SPDX-License-Identifier: MIT
// build_snapshot: a good configuration builds the whole model (lists, categories, actions with
// the built-ins, policies, default policy, summary), list paths resolve both absolute and
// relative to the configuration file, and every class of error gives exactly one diagnostic
// with the exact 1-based `file:line:column:` of the offending node and a message that says what
// is wrong. Rejected list lines are warnings with `file:line`, not errors. List files are
// written to a private temporary directory at run time.
#include "policy/snapshot_builder.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/config/yaml_reader.h"
#include "resolver/dns/name.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"

namespace {

using sinkhole::test::messages;

namespace fs = std::filesystem;
using sinkhole::policy::ActionKind;
using sinkhole::policy::build_snapshot;
using sinkhole::policy::build_snapshot_from_file;
using sinkhole::policy::BuildResult;
using sinkhole::policy::EdeTemplate;
using sinkhole::policy::kAllowAll;
using sinkhole::policy::kNoAction;
using sinkhole::policy::kRefuseClient;
using sinkhole::policy::PolicySnapshot;

using sinkhole::test::TempDir;

// "line:column" (1-based) of the `nth` occurrence of `needle` in `text`.
std::string pos(std::string_view text, std::string_view needle, int nth = 1) {
  size_t at = std::string_view::npos;
  size_t from = 0;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, from);
    INFO("needle '", needle, "' occurrence ", i + 1);
    REQUIRE(at != std::string_view::npos);
    from = at + 1;
  }
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

// The build failed with exactly one error, prefixed `path:where: `, containing every piece.
void expect_one_error(const BuildResult& r, const std::string& path, const std::string& where,
                      std::initializer_list<std::string_view> pieces) {
  INFO("errors:", messages(r.errors));
  CHECK(r.snapshot == nullptr);
  CHECK(r.summary.empty());
  REQUIRE(r.errors.size() == 1);
  const std::string& e = r.errors.front();
  const std::string prefix = path + ":" + where + ": ";
  INFO("expected prefix: ", prefix);
  CHECK(e.rfind(prefix, 0) == 0);
  for (std::string_view p : pieces) {
    INFO("expected in message: ", p);
    CHECK(e.find(p) != std::string::npos);
  }
}

// A directory with two small domain lists and the configuration path beside them.
struct Env {
  TempDir tmp;
  std::string config;
  Env() {
    tmp.write("a.txt", "a.example\n");
    tmp.write("b.txt", "b.example\n");
    config = tmp.path("sinkholed.yaml");
  }
  BuildResult build(std::string_view yaml, uint64_t generation = 1) const {
    return build_snapshot(yaml, config, generation);
  }
  void one_error(std::string_view yaml, std::string_view needle,
                 std::initializer_list<std::string_view> pieces, int nth = 1) const {
    INFO("yaml:\n", yaml);
    expect_one_error(build(yaml), config, pos(yaml, needle, nth), pieces);
  }
};

std::vector<uint8_t> wire(const char* text) {
  uint8_t buf[sinkhole::dns::kMaxNameWire];
  const size_t n = sinkhole::dns::text_to_wire(text, buf);
  REQUIRE(n > 0);
  return {buf, buf + n};
}

int action_index(const PolicySnapshot& s, const std::string& name) {
  for (size_t i = 0; i < s.actions.size(); ++i)
    if (s.actions[i].name == name) return static_cast<int>(i);
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Good configurations

constexpr std::string_view kGoodYaml = R"yaml(# a complete policy model
actions:
  warning:
    type: sinkhole
    a: [192.0.2.80, 192.0.2.81]
    aaaa: 2001:db8::80
    ttl: 60
    soa_ttl: 120
    ede: censored
    ede_text: "Blocked under Decree 147/2024/ND-CP (list {list}, line {line})"
    log: true
  to-warning:
    type: cname
    target: warning.example.net.
    ttl: 30
  quiet:
    type: nxdomain
    ede: none
  nodata:
    type: nodata
    soa_ttl: 30
lists:
  casino:
    path: casino.txt
    category: gambling
  betting:
    path: sub/../betting.hosts
    format: hosts
    category: gambling
    action: warning
  ads:
    path: ads.adblock
    format: adblock
  zone:
    path: policy.rpz
    format: rpz
  kids-ok:
    path: kids-ok.txt
policies:
  - name: kids
    clients: [127.0.0.2/32, "2001:db8:1::/48"]
    allow: [kids-ok]
    block:
      - list: casino
        action: warning
      - zone
      - {list: ads, action: drop}
  - name: adults
    clients:
      - 127.0.0.3
    block:
      - list: betting
default_policy: adults
)yaml";

void write_good_lists(const TempDir& t) {
  t.write("casino.txt", "# casinos\ncasino.example\nbet.example\n");
  t.write("betting.hosts", "0.0.0.0 betting.example\n127.0.0.1 localhost\n");
  t.write("ads.adblock", "! ads\n||ads.example^\n@@||ok.ads.example^\n");
  t.write("policy.rpz",
          "$TTL 300\n"
          "$ORIGIN rpz.test.\n"
          "@ IN SOA ns.rpz.test. hostmaster.rpz.test. 1 3600 600 86400 300\n"
          "  IN NS ns.rpz.test.\n"
          "nx.example CNAME .\n"
          "drop.example CNAME rpz-drop.\n"
          "local.example A 192.0.2.7\n");
  t.write("kids-ok.txt", "ok.casino.example\n");
}

void check_good_snapshot(const BuildResult& r, const TempDir& t, const std::string& config) {
  INFO("errors:", messages(r.errors), "\nwarnings:", messages(r.warnings));
  REQUIRE(r.errors.empty());
  REQUIRE(r.snapshot != nullptr);
  CHECK(r.warnings.empty());
  const PolicySnapshot& s = *r.snapshot;
  CHECK(s.generation == 42);
  CHECK(s.config_path == config);

  // Lists, in file order, with their paths normalised and anchored at the config directory.
  REQUIRE(s.lists.size() == 5);
  const char* names[] = {"casino", "betting", "ads", "zone", "kids-ok"};
  const char* files[] = {"casino.txt", "betting.hosts", "ads.adblock", "policy.rpz", "kids-ok.txt"};
  for (size_t i = 0; i < 5; ++i) {
    CHECK(s.lists[i].name == names[i]);
    CHECK(fs::path(s.lists[i].path) == t.dir() / files[i]);
    REQUIRE(s.lists[i].matcher != nullptr);
  }
  CHECK(s.lists[0].format == sinkhole::blocklist::Format::kDomains);
  CHECK(s.lists[1].format == sinkhole::blocklist::Format::kHosts);
  CHECK(s.lists[2].format == sinkhole::blocklist::Format::kAdblock);
  CHECK(s.lists[3].format == sinkhole::blocklist::Format::kRpz);
  CHECK(s.lists[0].stats.entries == 2);
  CHECK(s.lists[1].stats.entries == 1);
  CHECK(s.lists[2].stats.entries == 2);
  CHECK(s.lists[3].stats.entries == 3);
  CHECK(s.lists[4].stats.entries == 1);
  CHECK(s.lists[3].local.size() == 1);  // local.example's A record
  for (const auto& list : s.lists) CHECK(list.matcher->pattern_count() == 0);

  // Categories: two lists share "gambling"; the others default to their own name.
  const std::vector<std::string> categories = {"gambling", "ads", "zone", "kids-ok"};
  REQUIRE(s.categories == categories);
  CHECK(s.lists[0].category == "gambling");
  CHECK(s.lists[1].category == "gambling");
  CHECK(s.lists[0].category_id == 0);
  CHECK(s.lists[1].category_id == 0);
  CHECK(s.lists[2].category == "ads");
  CHECK(s.lists[2].category_id == 1);
  CHECK(s.lists[3].category_id == 2);
  CHECK(s.lists[4].category_id == 3);

  // Actions: the seven built-ins, the redefined nodata in place, and three new ones.
  REQUIRE(s.actions.size() == 10);
  const int warning = action_index(s, "warning");
  const int to_warning = action_index(s, "to-warning");
  const int quiet = action_index(s, "quiet");
  REQUIRE(warning >= 0);
  REQUIRE(to_warning >= 0);
  REQUIRE(quiet >= 0);
  CHECK(s.actions[s.nxdomain].name == "nxdomain");
  CHECK(s.actions[s.nxdomain].kind == ActionKind::kNxDomain);
  CHECK(s.actions[s.nodata].name == "nodata");
  CHECK(s.actions[s.nodata].kind == ActionKind::kNoData);
  CHECK(s.actions[s.nodata].soa_ttl == 30);  // the redefinition replaced the built-in
  CHECK(s.actions[s.refused].name == "refused");
  CHECK(s.actions[s.refused].kind == ActionKind::kRefused);
  CHECK(s.actions[s.drop].name == "drop");
  CHECK(s.actions[s.drop].kind == ActionKind::kDrop);
  CHECK(s.actions[s.passthru].name == "passthru");
  CHECK(s.actions[s.passthru].kind == ActionKind::kPassthru);
  CHECK(s.actions[s.tcp_only].kind == ActionKind::kTcpOnly);
  CHECK(s.actions[s.local_data].kind == ActionKind::kLocalData);
  CHECK(s.actions[s.nxdomain].soa_ttl == 300);  // defaults
  CHECK(s.actions[s.nxdomain].ede_code == 15);
  CHECK(s.actions[s.nxdomain].ede);

  const auto& w = s.actions[static_cast<size_t>(warning)];
  CHECK(w.kind == ActionKind::kSinkhole);
  const std::array<uint8_t, 4> a80 = {192, 0, 2, 80}, a81 = {192, 0, 2, 81};
  const std::array<uint8_t, 16> aaaa80 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0, 0, 0, 0x80};
  REQUIRE(w.a.size() == 2);
  CHECK(w.a[0] == a80);
  CHECK(w.a[1] == a81);
  REQUIRE(w.aaaa.size() == 1);
  CHECK(w.aaaa[0] == aaaa80);
  CHECK(w.ttl == 60);
  CHECK(w.soa_ttl == 120);
  CHECK(w.ede_code == 16);
  CHECK(w.ede);
  CHECK(w.log);
  REQUIRE(w.ede_text.pieces.size() == 5);
  CHECK(w.ede_text.pieces[0].text == "Blocked under Decree 147/2024/ND-CP (list ");
  CHECK(w.ede_text.pieces[1].part == EdeTemplate::Part::kList);
  CHECK(w.ede_text.pieces[3].part == EdeTemplate::Part::kLine);
  CHECK(w.ede_text.pieces[4].text == ")");

  const auto& c = s.actions[static_cast<size_t>(to_warning)];
  CHECK(c.kind == ActionKind::kCname);
  CHECK(c.target == wire("warning.example.net"));  // the trailing dot is accepted
  CHECK(c.ttl == 30);
  CHECK_FALSE(s.actions[static_cast<size_t>(quiet)].ede);
  CHECK(s.actions[static_cast<size_t>(quiet)].kind == ActionKind::kNxDomain);

  CHECK(s.lists[1].default_action == warning);
  CHECK(s.lists[0].default_action == kNoAction);

  // Policies, their allow lists and ordered block rules.
  REQUIRE(s.policies.size() == 2);
  CHECK(s.policies[0].name == "kids");
  CHECK(s.policies[0].allow == std::vector<uint16_t>{4});
  REQUIRE(s.policies[0].block.size() == 3);
  CHECK(s.policies[0].block[0].list == 0);
  CHECK(s.policies[0].block[0].action == warning);
  CHECK(s.policies[0].block[1].list == 3);
  CHECK(s.policies[0].block[1].action == kNoAction);
  CHECK(s.policies[0].block[2].list == 2);
  CHECK(s.policies[0].block[2].action == s.drop);
  CHECK(s.policies[1].name == "adults");
  CHECK(s.policies[1].allow.empty());
  REQUIRE(s.policies[1].block.size() == 1);
  CHECK(s.policies[1].block[0].list == 1);
  CHECK(s.policies[1].block[0].action == kNoAction);
  CHECK(s.default_policy == 1);
  CHECK(s.groups.prefix_count() == 3);

  // 2 + 1 + 2 + 3 + 1 entries; 7 built-in + 3 new actions.
  CHECK(r.summary == "5 list(s), 9 entries, 10 action(s), 2 policies");
  CHECK(r.seconds >= 0);
}

TEST_CASE("a complete configuration builds, list paths relative to the config file") {
  TempDir t;
  write_good_lists(t);
  const std::string config = t.path("sinkholed.yaml");
  const BuildResult r = build_snapshot(kGoodYaml, config, 42);
  check_good_snapshot(r, t, config);
}

TEST_CASE("a complete configuration builds with absolute list paths, config elsewhere") {
  TempDir t;
  write_good_lists(t);
  std::string yaml(kGoodYaml);
  for (const char* file :
       {"casino.txt", "sub/../betting.hosts", "ads.adblock", "policy.rpz", "kids-ok.txt"}) {
    const std::string key = std::string("path: ") + file;
    const size_t at = yaml.find(key);
    REQUIRE(at != std::string::npos);
    yaml.replace(at, key.size(), "path: " + t.path(file));
  }
  // The configuration lives somewhere else entirely; absolute list paths ignore it.
  const std::string config = "/nonexistent-sinkhole-dir/etc/sinkholed.yaml";
  const BuildResult r = build_snapshot(yaml, config, 42);
  check_good_snapshot(r, t, config);
}

TEST_CASE("build_snapshot_from_file reads the file and anchors lists beside it") {
  TempDir t;
  write_good_lists(t);
  // The configuration is in etc/, the lists one directory up: paths start with "../".
  std::string yaml(kGoodYaml);
  for (const char* file : {"casino.txt", "ads.adblock", "policy.rpz", "kids-ok.txt"}) {
    const std::string key = std::string("path: ") + file;
    yaml.replace(yaml.find(key), key.size(), "path: ../" + std::string(file));
  }
  const std::string key = "path: sub/../betting.hosts";
  yaml.replace(yaml.find(key), key.size(), "path: ../betting.hosts");
  const std::string config = t.write("etc/sinkholed.yaml", yaml);
  const BuildResult r = build_snapshot_from_file(config, 42);
  check_good_snapshot(r, t, config);

  const BuildResult missing = build_snapshot_from_file(t.path("etc/absent.yaml"), 1);
  CHECK(missing.snapshot == nullptr);
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].rfind(t.path("etc/absent.yaml") + ": ", 0) == 0);
  CHECK(missing.errors[0].find("No such file") != std::string::npos);
}

TEST_CASE("one parsed document feeds both the server settings and the policy") {
  TempDir t;
  write_good_lists(t);
  const std::string config = t.write("sinkholed.yaml", kGoodYaml);
  const auto doc = sinkhole::config::load_document(config);
  REQUIRE(doc.document.has_value());
  const auto settings = sinkhole::config::parse_config(*doc.document);
  REQUIRE(settings.config.has_value());
  const BuildResult r = build_snapshot(*doc.document, 42);
  check_good_snapshot(r, t, config);
  // The tree is read, never changed: a second build from it is the same.
  const BuildResult again = build_snapshot(*doc.document, 43);
  REQUIRE(again.snapshot);
  CHECK(again.snapshot->lists.size() == r.snapshot->lists.size());
  CHECK(again.summary == r.summary);
}

TEST_CASE("no policies: a plain forwarder; empty configuration has the built-ins") {
  Env env;
  {
    const BuildResult r = env.build("lists:\n  a:\n    path: a.txt\n");
    INFO("errors:", messages(r.errors));
    REQUIRE(r.snapshot != nullptr);
    CHECK(r.snapshot->default_policy == kAllowAll);
    CHECK(r.snapshot->policies.empty());
    CHECK(r.summary == "1 list(s), 1 entries, 7 action(s), 0 policies");
  }
  {
    const BuildResult r = env.build("");
    INFO("errors:", messages(r.errors));
    REQUIRE(r.snapshot != nullptr);
    CHECK(r.snapshot->actions.size() == 7);
    CHECK(r.snapshot->actions[r.snapshot->refused].kind == ActionKind::kRefused);
    CHECK(r.snapshot->actions[r.snapshot->drop].kind == ActionKind::kDrop);
    CHECK(r.summary == "0 list(s), 0 entries, 7 action(s), 0 policies");
  }
  {
    // Policies present but no default: clients in no group are refused.
    const BuildResult r = env.build(
        "lists:\n  a:\n    path: a.txt\n"
        "policies:\n  - name: only\n    clients: [10.0.0.0/8]\n    block: [a]\n");
    INFO("errors:", messages(r.errors));
    REQUIRE(r.snapshot != nullptr);
    CHECK(r.snapshot->default_policy == kRefuseClient);
    CHECK(r.summary == "1 list(s), 1 entries, 7 action(s), 1 policy");
  }
  {
    const BuildResult r = env.build(
        "policies:\n  - name: only\n    clients: [10.0.0.0/8]\ndefault_policy: refused\n");
    INFO("errors:", messages(r.errors));
    REQUIRE(r.snapshot != nullptr);
    CHECK(r.snapshot->default_policy == kRefuseClient);
  }
}

TEST_CASE("a rejected list line is a warning with file:line, not an error") {
  Env env;
  const std::string list =
      env.tmp.write("mixed.txt", "good.example\nnot a name\nalso-good.example\nbad%char.example\n");
  // Half the lines rejected: past the default max_reject_ratio (1%), so allowed here.
  const BuildResult r =
      env.build("lists:\n  mixed:\n    path: mixed.txt\n    max_reject_ratio: 50%\n");
  INFO("errors:", messages(r.errors), "\nwarnings:", messages(r.warnings));
  CHECK(r.errors.empty());
  REQUIRE(r.snapshot != nullptr);
  CHECK(r.snapshot->lists[0].stats.entries == 2);
  // One summary line for the list, then each rejected line.
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] == "list mixed: 2 lines rejected (first at " + list +
                             ":2), read as domains (inferred from content)");
  REQUIRE(r.details.size() == 2);
  CHECK(r.details[0].rfind(list + ":2: ", 0) == 0);
  CHECK(r.details[1].rfind(list + ":4: ", 0) == 0);
  CHECK(r.details[0].find("line skipped") != std::string::npos);
  CHECK(r.summary == "1 list(s), 2 entries, 7 action(s), 0 policies");
}

TEST_CASE("the order of the sections in the file does not matter") {
  Env env;
  const BuildResult r = env.build(
      "default_policy: p\n"
      "policies:\n  - name: p\n    block: [{list: a, action: page}]\n"
      "lists:\n  a:\n    path: a.txt\n    action: page\n"
      "actions:\n  page:\n    type: sinkhole\n    a: 192.0.2.1\n");
  INFO("errors:", messages(r.errors));
  REQUIRE(r.snapshot != nullptr);
  const int page = action_index(*r.snapshot, "page");
  REQUIRE(page >= 0);
  CHECK(r.snapshot->lists[0].default_action == page);
  REQUIRE(r.snapshot->policies.size() == 1);
  REQUIRE(r.snapshot->policies[0].block.size() == 1);
  CHECK(r.snapshot->policies[0].block[0].action == page);
  CHECK(r.snapshot->default_policy == 0);
}

TEST_CASE("empty list files of every format are refused by the guard, unless forced") {
  Env env;
  std::string yaml = "lists:\n";
  for (const char* format : {"domains", "hosts", "adblock", "rpz", "patterns"}) {
    env.tmp.write(std::string("empty.") + format, "");
    yaml += std::string("  ") + format + ":\n    path: empty." + format +
            "\n    format: " + format + "\n";
  }
  const BuildResult refused = env.build(yaml);
  INFO("errors:", messages(refused.errors));
  CHECK(refused.snapshot == nullptr);
  CHECK(refused.errors.size() == 5);
  REQUIRE(refused.refusals.size() == 5);
  for (const auto& f : refused.refusals) {
    CHECK(f.reason == std::string("empty"));
    CHECK(f.message.find("0 valid entries of 0 lines") != std::string::npos);
  }
  sinkhole::policy::BuildOptions force;
  force.force = true;
  const BuildResult r = build_snapshot(yaml, env.config, 1, nullptr, force);
  INFO("errors:", messages(r.errors), "\nwarnings:", messages(r.warnings));
  CHECK(r.errors.empty());
  REQUIRE(r.snapshot != nullptr);
  CHECK(r.snapshot->lists.size() == 5);
  CHECK(r.warnings.size() == 5);  // each one published anyway, said so
  CHECK(r.summary == "5 list(s), 0 entries, 7 action(s), 0 policies");
}

TEST_CASE("the real gambling lists share one category") {
  const fs::path shared = SINKHOLE_SHARED_BLOCKLISTS;
  REQUIRE_MESSAGE(!shared.empty(),
                  "SINKHOLE_SHARED_BLOCKLISTS is empty: CMake found no ../shared/data/blocklists "
                  "beside the clone nor /work/shared/data/blocklists");
  const fs::path ut1 = shared / "ut1" / "gambling.domains";
  const fs::path sb = shared / "stevenblack" / "gambling-only-domains.txt";
  // Missing data fails the test: a skip would pass without testing anything.
  REQUIRE_MESSAGE(fs::is_regular_file(ut1), "shared blocklist missing: ", ut1.string());
  REQUIRE_MESSAGE(fs::is_regular_file(sb), "shared blocklist missing: ", sb.string());
  const std::string yaml = "lists:\n  ut1-gambling:\n    path: " + ut1.string() +
                           "\n    category: gambling\n  sb-gambling:\n    path: " + sb.string() +
                           "\n    category: gambling\n"
                           "policies:\n  - name: all\n    clients: [0.0.0.0/0, \"::/0\"]\n"
                           "    block: [ut1-gambling, sb-gambling]\n";
  const BuildResult r = build_snapshot(yaml, "/etc/sinkholed.yaml", 7);
  INFO("errors:", messages(r.errors));
  REQUIRE(r.snapshot != nullptr);
  const PolicySnapshot& s = *r.snapshot;
  REQUIRE(s.lists.size() == 2);
  CHECK(s.categories == std::vector<std::string>{"gambling"});
  CHECK(s.lists[0].stats.entries > 1000);
  CHECK(s.lists[1].stats.entries > 1000);
  const size_t entries = s.lists[0].stats.entries + s.lists[1].stats.entries;
  CHECK(r.summary == "2 list(s), " + std::to_string(entries) + " entries, 7 action(s), 1 policy");
}

// ---------------------------------------------------------------------------------------------
// Unknown keys (the top level is checked by resolver/config)

TEST_CASE("unknown key inside a list") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    catgory: gambling\n", "catgory",
                {"unknown key 'catgory'", "list 'a'"});
}

TEST_CASE("unknown key inside an action") {
  Env env;
  env.one_error("actions:\n  warn:\n    type: nxdomain\n    colour: red\n", "colour",
                {"unknown key 'colour'", "action 'warn'"});
}

TEST_CASE("unknown key inside a policy") {
  Env env;
  env.one_error("policies:\n  - name: p\n    client: [10.0.0.0/8]\n",
                "client:", {"unknown key 'client'", "policy"});
}

TEST_CASE("unknown key inside a block entry") {
  Env env;
  env.one_error(
      "lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block:\n"
      "      - {list: a, acton: drop}\n",
      "acton", {"unknown key 'acton'", "block"});
}

TEST_CASE("a key repeated inside a list") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    path: b.txt\n", "path", {"'path' repeated"}, 2);
}

// ---------------------------------------------------------------------------------------------
// Wrong types

TEST_CASE("lists must be a mapping") {
  Env env;
  env.one_error("lists: [a.txt, b.txt]\n", "[", {"lists must be a mapping"});
  env.one_error("lists:\n  - path: a.txt\n", "-", {"lists must be a mapping"});
}

TEST_CASE("actions must be a mapping") {
  Env env;
  env.one_error("actions:\n  - warn\n", "-", {"actions must be a mapping"});
}

TEST_CASE("policies must be a list") {
  Env env;
  env.one_error("policies:\n  kids:\n    clients: [10.0.0.0/8]\n", "kids",
                {"policies must be a list"});
  env.one_error("policies: {name: kids}\n", "{", {"policies must be a list"});
}

TEST_CASE("clients must be a list") {
  Env env;
  env.one_error("policies:\n  - name: p\n    clients: 10.0.0.0/8\n", "10.0.0.0/8",
                {"policy 'p'.clients must be a list"});
}

TEST_CASE("allow and block must be lists; a list entry must be a mapping") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    allow: a\n", "a\n",
                {"policy 'p'.allow must be a list"});
  env.one_error("lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block: a\n", "a\n",
                {"policy 'p'.block must be a list"});
  env.one_error("lists:\n  a: a.txt\n", "a.txt", {"list 'a' must be a mapping"});
}

TEST_CASE("a scalar where a list path is expected") {
  Env env;
  env.one_error("lists:\n  a:\n    path: [a.txt, b.txt]\n", "[",
                {"list 'a'.path must be a scalar"});
}

// ---------------------------------------------------------------------------------------------
// Unknown references

TEST_CASE("unknown list in allow") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    allow: [a, nope]\n",
                "nope", {"unknown list 'nope'", "policy 'p'.allow"});
}

TEST_CASE("unknown list in block, as a mapping and as a bare name") {
  Env env;
  env.one_error(
      "lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block:\n"
      "      - list: a\n      - list: nope\n",
      "nope", {"unknown list 'nope'", "policy 'p'.block"});
  env.one_error(
      "lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block:\n"
      "      - a\n      - nope\n",
      "nope", {"unknown list 'nope'", "policy 'p'.block"});
}

TEST_CASE("unknown action in a block rule") {
  Env env;
  env.one_error(
      "lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block:\n"
      "      - list: a\n        action: warning-page\n",
      "warning-page", {"unknown action 'warning-page'"});
  // RPZ-only built-ins cannot be chosen by a policy.
  env.one_error(
      "lists:\n  a:\n    path: a.txt\npolicies:\n  - name: p\n    block:\n"
      "      - {list: a, action: tcp-only}\n",
      "tcp-only", {"unknown action 'tcp-only'"});
}

TEST_CASE("unknown action as a list's default action") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    action: warning-page\n", "warning-page",
                {"list 'a'.action", "unknown action 'warning-page'"});
}

TEST_CASE("unknown action type; an action without a type") {
  Env env;
  env.one_error("actions:\n  warn:\n    type: redirect\n", "redirect",
                {"action 'warn'", "unknown type 'redirect'"});
  env.one_error("actions:\n  warn:\n    ttl: 60\n", "warn", {"action 'warn' needs a type"});
}

// ---------------------------------------------------------------------------------------------
// Client CIDRs

TEST_CASE("bad CIDR: garbage") {
  Env env;
  env.one_error("policies:\n  - name: p\n    clients: [10.0.0.0/8, not-an-address]\n",
                "not-an-address", {"policy 'p'.clients", "not-an-address", "not an IPv4 or IPv6"});
}

TEST_CASE("bad CIDR: prefix too long") {
  Env env;
  env.one_error("policies:\n  - name: p\n    clients:\n      - 10.0.0.0/33\n", "10.0.0.0/33",
                {"policy 'p'.clients", "prefix length 33 is longer than the 32 bits"});
  env.one_error("policies:\n  - name: p\n    clients:\n      - 2001:db8::/129\n", "2001",
                {"prefix length 129 is longer than the 128 bits"});
}

TEST_CASE("bad CIDR: host bits set") {
  Env env;
  env.one_error("policies:\n  - name: p\n    clients: [10.1.2.3/8]\n", "10.1.2.3/8",
                {"host bits set", "10.0.0.0/8"});
}

TEST_CASE("the same CIDR in two policies") {
  Env env;
  env.one_error(
      "policies:\n  - name: a\n    clients: [10.0.0.0/8]\n"
      "  - name: b\n    clients: [192.0.2.0/24, 10.0.0.0/8]\n",
      "10.0.0.0/8", {"policy 'b'.clients", "10.0.0.0/8", "already"}, 2);
  // The same prefix twice in one policy is fine.
  const BuildResult r =
      env.build("policies:\n  - name: a\n    clients: [10.0.0.0/8, 10.0.0.0/8]\n");
  INFO("errors:", messages(r.errors));
  CHECK(r.errors.empty());
  CHECK(r.snapshot != nullptr);
}

// ---------------------------------------------------------------------------------------------
// Duplicate names

TEST_CASE("duplicate policy name") {
  Env env;
  env.one_error(
      "policies:\n  - name: kids\n    clients: [10.0.0.0/8]\n"
      "  - name: kids\n    clients: [192.0.2.0/24]\n",
      "kids", {"policy 'kids' defined twice"}, 2);
}

TEST_CASE("duplicate action name") {
  Env env;
  env.one_error("actions:\n  warn:\n    type: nxdomain\n  warn:\n    type: refused\n", "warn",
                {"action 'warn' defined twice"}, 2);
}

TEST_CASE("duplicate redefinition of a built-in action") {
  Env env;
  env.one_error(
      "actions:\n  nxdomain:\n    type: nxdomain\n    soa_ttl: 60\n"
      "  nxdomain:\n    type: nxdomain\n    soa_ttl: 90\n",
      "nxdomain", {"'nxdomain'", "defined twice"}, 3);
}

TEST_CASE("duplicate list name") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n  a:\n    path: b.txt\n",
                "a:", {"list 'a'", "twice"}, 2);
}

// ---------------------------------------------------------------------------------------------
// List files and formats

TEST_CASE("unreadable list file: the error is at the path value") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n  gone:\n    path: missing.txt\n", "missing.txt",
                {"list gone (", env.tmp.path("missing.txt"), "No such file or directory"});
  fs::create_directories(env.tmp.dir() / "adir");
  env.one_error("lists:\n  d:\n    format: domains\n    path: adir\n", "adir",
                {"list d (", "not a regular file (a directory)", "refusing to publish"});
}

TEST_CASE("bad format name") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    format: csv\n", "csv",
                {"list 'a'.format", "'csv' is not one of"});
}

TEST_CASE("allow_suffix: true or false, false by default") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    allow_suffix: sometimes\n", "sometimes",
                {"list 'a'.allow_suffix must be true or false"});
  const BuildResult r =
      env.build("lists:\n  a: { path: a.txt, allow_suffix: true }\n  b: { path: b.txt }\n");
  REQUIRE(r.snapshot != nullptr);
  CHECK(r.snapshot->lists[0].allow_suffix);
  CHECK_FALSE(r.snapshot->lists[1].allow_suffix);
}

TEST_CASE("a list without format: is read in the format its content shows, and says so") {
  Env env;
  env.tmp.write("scam.txt",
                "# a hosts file without a hosts name\n0.0.0.0 a.example\n"
                "0.0.0.0 b.example c.example\n");
  const BuildResult r = env.build(
      "lists:\n  scam: { path: scam.txt }\n"
      "  typed: { path: scam.txt, format: hosts }\n");
  REQUIRE(r.snapshot != nullptr);
  const auto& l = r.snapshot->lists[0];
  CHECK(l.format == sinkhole::blocklist::Format::kHosts);
  CHECK(l.format_basis == sinkhole::blocklist::FormatBasis::kContent);
  CHECK(l.format_why == "2 of 2 sampled lines are `address name`");
  CHECK(l.stats.entries == 3);
  CHECK(l.stats.rejects.empty());
  CHECK(l.matcher->lists()[0].format == sinkhole::blocklist::Format::kHosts);
  CHECK(r.snapshot->lists[1].format_basis == sinkhole::blocklist::FormatBasis::kConfigured);
  CHECK(r.warnings.empty());
}

// ---------------------------------------------------------------------------------------------
// Action parameters that do not fit the action's type

TEST_CASE("'a' on an nxdomain action") {
  Env env;
  env.one_error("actions:\n  nx:\n    type: nxdomain\n    a: 192.0.2.1\n", "192.0.2.1",
                {"action 'nx'", "'a' does not apply to type nxdomain"});
}

TEST_CASE("'target' on a sinkhole action") {
  Env env;
  env.one_error(
      "actions:\n  page:\n    type: sinkhole\n    a: 192.0.2.1\n    target: warn.example\n",
      "warn.example", {"action 'page'", "'target' does not apply to type sinkhole"});
}

TEST_CASE("'ttl' on a refused action") {
  Env env;
  env.one_error("actions:\n  r:\n    type: refused\n    ttl: 60\n", "60",
                {"'ttl' does not apply to type refused"});
}

TEST_CASE("cname without a target") {
  Env env;
  env.one_error("actions:\n  redirect:\n    type: cname\n    ttl: 60\n", "type",
                {"action 'redirect'", "needs a target"});
}

TEST_CASE("cname with a target that is not a host name") {
  Env env;
  env.one_error("actions:\n  redirect:\n    type: cname\n    target: a..b\n", "a..b",
                {"action 'redirect'.target", "not a host name"});
}

TEST_CASE("sinkhole without any address") {
  Env env;
  env.one_error("actions:\n  page:\n    type: sinkhole\n    ttl: 60\n", "type",
                {"action 'page'", "needs an 'a' and/or 'aaaa'"});
}

TEST_CASE("sinkhole with an empty address list") {
  Env env;
  env.one_error("actions:\n  page:\n    type: sinkhole\n    a: []\n", "type",
                {"action 'page'", "needs an 'a' and/or 'aaaa'"});
}

TEST_CASE("sinkhole with an invalid IPv4 address") {
  Env env;
  env.one_error("actions:\n  page:\n    type: sinkhole\n    a: [192.0.2.1, 999.1.1.1]\n",
                "999.1.1.1", {"action 'page'.a", "'999.1.1.1' is not an IPv4 address"});
}

TEST_CASE("sinkhole with an invalid IPv6 address") {
  Env env;
  env.one_error("actions:\n  page:\n    type: sinkhole\n    aaaa: not-v6\n", "not-v6",
                {"action 'page'.aaaa", "'not-v6' is not an IPv6 address"});
  env.one_error("actions:\n  page:\n    type: sinkhole\n    a: 2001:db8::1\n", "2001",
                {"'2001:db8::1' is not an IPv4 address"});
}

TEST_CASE("unknown EDE code name") {
  Env env;
  env.one_error("actions:\n  nx:\n    type: nxdomain\n    ede: loud\n", "loud",
                {"action 'nx'.ede", "'loud' is not one of blocked, censored, filtered, none"});
}

TEST_CASE("ede_text with an unknown placeholder") {
  Env env;
  env.one_error("actions:\n  nx:\n    type: nxdomain\n    ede_text: \"list {list} {bogus}\"\n",
                "\"list", {"action 'nx'", "unknown placeholder {bogus}"});
}

TEST_CASE("negative and too large TTLs") {
  Env env;
  env.one_error("actions:\n  page:\n    type: sinkhole\n    a: 192.0.2.1\n    ttl: -1\n", "-1",
                {"action 'page'.ttl", "must be an integer from 0 to 604800", "'-1'"});
  env.one_error("actions:\n  nx:\n    type: nxdomain\n    soa_ttl: 86401\n", "86401",
                {"action 'nx'.soa_ttl", "from 0 to 86400"});
}

TEST_CASE("log must be a boolean") {
  Env env;
  env.one_error("actions:\n  nx:\n    type: nxdomain\n    log: maybe\n", "maybe",
                {"action 'nx'.log must be true or false"});
}

// ---------------------------------------------------------------------------------------------
// default_policy and YAML syntax

TEST_CASE("default_policy naming no policy") {
  Env env;
  env.one_error("policies:\n  - name: kids\n    clients: [10.0.0.0/8]\ndefault_policy: adults\n",
                "adults", {"default_policy 'adults' is not a policy name"});
  env.one_error("default_policy: adults\n", "adults",
                {"default_policy 'adults' is not a policy name"});
}

TEST_CASE("a YAML syntax error") {
  Env env;
  // yaml-cpp reports an unclosed flow sequence where it gave up: the start of line 3.
  const BuildResult r = env.build("lists:\n  a: [unclosed\n");
  expect_one_error(r, env.config, "3:1", {"end of sequence flow not found"});
  const BuildResult tab = env.build("lists:\n\ta:\n    path: a.txt\n");
  INFO("errors:", messages(tab.errors));
  REQUIRE(tab.errors.size() == 1);
  CHECK(tab.snapshot == nullptr);
  CHECK(tab.errors[0].rfind(env.config + ":2:", 0) == 0);
}

TEST_CASE("several errors are all reported, each at its own place") {
  Env env;
  const std::string yaml =
      "lists:\n  a:\n    path: a.txt\n    format: csv\n"
      "policies:\n  - name: p\n    clients: [10.0.0.0/33]\n    block: [nope]\n";
  const BuildResult r = env.build(yaml);
  INFO("errors:", messages(r.errors));
  CHECK(r.snapshot == nullptr);
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].rfind(env.config + ":" + pos(yaml, "csv") + ": ", 0) == 0);
  CHECK(r.errors[1].rfind(env.config + ":" + pos(yaml, "10.0.0.0/33") + ": ", 0) == 0);
  CHECK(r.errors[2].rfind(env.config + ":" + pos(yaml, "nope") + ": ", 0) == 0);
  // Spot-check the helper against hand-counted positions.
  CHECK(pos(yaml, "csv") == "4:13");
  CHECK(pos(yaml, "nope") == "8:13");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// mandatory and exceptions (list keys)

TEST_CASE("mandatory and exceptions: parsed, resolved to list ids, lifts counted at load") {
  Env env;
  env.tmp.write("mic.txt", "a.example\nb.example\nc.example\nd.example\n");
  env.tmp.write("mic-exceptions.txt", "b.example\nwww.c.example\nnot-in-mic.example\n");
  const BuildResult r = env.build(
      "lists:\n  mic:\n    path: mic.txt\n    mandatory: true\n    exceptions: [mic-exceptions]\n"
      "  mic-exceptions: {path: mic-exceptions.txt}\n  a: {path: a.txt}\n"
      "  b: {path: b.txt, exceptions: a, mandatory: false}\n"
      "policies:\n  - name: p\n    clients: [10.0.0.0/8]\n    block: [a, mic]\n"
      "  - name: q\n    clients: [10.1.0.0/16]\n    block: [a]\n");
  INFO("errors:", messages(r.errors));
  REQUIRE(r.snapshot);
  const PolicySnapshot& s = *r.snapshot;
  REQUIRE(s.lists.size() == 4);
  CHECK(s.lists[0].mandatory);
  CHECK(s.lists[0].exceptions == std::vector<uint16_t>{1});
  // b.example and www.c.example lift names of mic; not-in-mic.example lifts nothing.
  CHECK(s.lists[0].exempted_names == std::vector<size_t>{2});
  CHECK_FALSE(s.lists[1].mandatory);
  CHECK(s.lists[1].exceptions.empty());
  CHECK_FALSE(s.lists[3].mandatory);
  CHECK(s.lists[3].exceptions == std::vector<uint16_t>{2});
  CHECK(s.lists[3].exempted_names == std::vector<size_t>{0});
  CHECK(s.policies[0].has_mandatory);
  CHECK_FALSE(s.policies[1].has_mandatory);
  // The audit: one info line per (list, exception list).
  CHECK(r.notices == std::vector<std::string>{
                         "list mic (mandatory): 2 names lifted by exception list mic-exceptions",
                         "list b: 0 names lifted by exception list a"});
}

TEST_CASE("mandatory: not true or false") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    mandatory: yes-please\n", "yes-please",
                {"list 'a'.mandatory must be true or false"});
}

TEST_CASE("exceptions: an unknown list, the list itself, twice, not a list") {
  Env env;
  env.one_error("lists:\n  a:\n    path: a.txt\n    exceptions: [nope]\n", "nope",
                {"list 'a'.exceptions: unknown list 'nope'"});
  env.one_error("lists:\n  a:\n    path: a.txt\n    exceptions: [a]\n", "a]",
                {"a list cannot be its own exception list"});
  env.one_error("lists:\n  a:\n    path: a.txt\n    exceptions: [b, b]\n  b: {path: b.txt}\n", "b]",
                {"'b' named twice"});
  env.one_error("lists:\n  a:\n    path: a.txt\n    exceptions: {b: 1}\n  b: {path: b.txt}\n", "{b",
                {"list 'a'.exceptions must be a list of list names"});
}

TEST_CASE("a mandatory list cannot be allow-listed or given a passthru action") {
  Env env;
  env.one_error(
      "lists:\n  a:\n    path: a.txt\n    mandatory: true\npolicies:\n  - name: p\n"
      "    allow: [a]\n",
      "a]", {"policy 'p'.allow: list 'a' is mandatory"});
  env.one_error(
      "actions:\n  watch: {type: passthru}\nlists:\n  a:\n    path: a.txt\n    mandatory: true\n"
      "policies:\n  - name: p\n    block: [{list: a, action: watch}]\n",
      "watch}", {"list 'a' is mandatory: a passthru action would lift it"});
  env.one_error("lists:\n  a:\n    path: a.txt\n    mandatory: true\n    action: passthru\n",
                "passthru", {"a mandatory list cannot have a passthru action"});
}

// Feed lists (policy/list_source.h): where their content comes from and what a build reads.
TEST_CASE("a feed list reads its saved copy, a candidate, or builds pending without one") {
  sinkhole::test::TempDir tmp;
  const std::string state = tmp.path("state");
  const std::string yaml =
      "upstreams: [192.0.2.1]\n"
      "server: { state_dir: " +
      state +
      " }\n"
      "lists:\n"
      "  mic: { primary: [127.0.0.30:5470], zone: mic.rpz, format: rpz }\n"
      "  web: { url: https://lists.example/x.txt, refresh: 15m }\n"
      "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [mic, web] }\n";
  auto r = build_snapshot(yaml, tmp.config(), 1);
  INFO(messages(r.errors));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->lists.size() == 2);
  const auto& mic = r.snapshot->lists[0];
  CHECK(mic.pending);
  CHECK(mic.source.kind == sinkhole::policy::ListSource::Kind::kRpz);
  CHECK(mic.source.rpz.zone == "mic.rpz");
  CHECK(mic.source.rpz.primaries.front().to_string() == "127.0.0.30:5470");
  CHECK(mic.path == state + "/lists/mic/current");
  CHECK(r.snapshot->lists[1].source.http.refresh_seconds == 900);
  CHECK(std::count_if(r.warnings.begin(), r.warnings.end(), [](const std::string& w) {
          return w.find("no copy yet") != std::string::npos;
        }) == 2);

  tmp.write("state/lists/mic/current", "$ORIGIN mic.rpz.\nsaved.example CNAME .\n");
  r = build_snapshot(yaml, tmp.config(), 2);
  REQUIRE(r.snapshot);
  CHECK_FALSE(r.snapshot->lists[0].pending);
  CHECK(r.snapshot->lists[0].matcher->lookup_text("saved.example", nullptr));

  sinkhole::policy::BuildOptions options;
  options.candidates["mic"] =
      tmp.write("state/lists/mic/candidate", "$ORIGIN mic.rpz.\nnew.example CNAME .\n");
  r = build_snapshot(yaml, tmp.config(), 3, nullptr, options);
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->lists[0].matcher->lookup_text("new.example", nullptr));
  CHECK_FALSE(r.snapshot->lists[0].matcher->lookup_text("saved.example", nullptr));

  // A candidate goes through the list guard like any list: an empty one fails the build.
  options.candidates["mic"] = tmp.write("state/lists/mic/candidate", "$ORIGIN mic.rpz.\n");
  options.serving_entries["mic"] = 1;
  r = build_snapshot(yaml, tmp.config(), 4, nullptr, options);
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].list == "mic");
}

// updates: stage — a feed's new version is read and guarded as a candidate, but becomes the
// list's staged version beside the one serving, in a reload and in a feed's build alike.
TEST_CASE("a candidate to stage is compiled beside the version serving, which stays") {
  sinkhole::test::TempDir tmp;
  const std::string state = tmp.path("state");
  const std::string yaml =
      "upstreams: [192.0.2.1]\n"
      "server: { state_dir: " +
      state +
      " }\n"
      "lists:\n"
      "  mic: { primary: [127.0.0.30:5470], zone: mic.rpz, format: rpz, updates: stage }\n"
      "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [mic] }\n";
  tmp.write("state/lists/mic/current",
            "$ORIGIN mic.rpz.\nsaved.example CNAME .\nkept.example CNAME .\n");
  auto r = build_snapshot(yaml, tmp.config(), 1);
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->lists[0].source.updates == sinkhole::policy::ListSource::Updates::kStage);
  CHECK_FALSE(r.snapshot->lists[0].staged);
  for (const bool feed_build : {false, true}) {
    INFO("feed build: " << feed_build);
    sinkhole::policy::BuildOptions options;
    options.serving = r.snapshot;
    options.serving_entries = sinkhole::policy::entries_by_list(*r.snapshot);
    options.feeds_only = feed_build;
    options.candidates["mic"] =
        tmp.write("state/lists/mic/candidate",
                  "$ORIGIN mic.rpz.\nsaved.example CNAME .\nkept.example CNAME .\n"
                  "new.example CNAME .\n");
    options.stage_candidates.insert("mic");
    const auto s = feed_build ? sinkhole::policy::build_feed_snapshot(2, nullptr, options)
                              : build_snapshot(yaml, tmp.config(), 2, nullptr, options);
    INFO(messages(s.errors));
    REQUIRE(s.snapshot);
    const auto& mic = s.snapshot->lists[0];
    CHECK_FALSE(mic.matcher->lookup_text("new.example", nullptr));  // serving: unchanged
    CHECK(mic.matcher->lookup_text("saved.example", nullptr));
    CHECK(mic.stats.entries == 2u);
    CHECK(mic.path == state + "/lists/mic/current");
    REQUIRE(mic.staged);
    CHECK(mic.staged->lookup_text("new.example", nullptr));
    CHECK(mic.staged_entries == 3u);
    CHECK(mic.staged_path == state + "/lists/mic/staged");
    CHECK(mic.staged_tally);
    CHECK(s.snapshot->any_staged);
    // The same guard as a candidate to enforce: one that shrinks to one name is refused.
    options.candidates["mic"] =
        tmp.write("state/lists/mic/candidate", "$ORIGIN mic.rpz.\nsaved.example CNAME .\n");
    options.serving_entries["mic"] = 1000;
    const auto refused = feed_build ? sinkhole::policy::build_feed_snapshot(3, nullptr, options)
                                    : build_snapshot(yaml, tmp.config(), 3, nullptr, options);
    CHECK_FALSE(refused.snapshot);
    REQUIRE(refused.refusals.size() == 1);
    CHECK(refused.refusals[0].list == "mic");
  }
}

// RPZ `on_expire: drop` past the SOA expire: the feed manager maps the list to "" and the
// build makes it pending (empty) although a copy is saved.
TEST_CASE("a feed list mapped to no candidate builds pending") {
  sinkhole::test::TempDir tmp;
  const std::string state = tmp.path("state");
  const std::string yaml =
      "upstreams: [192.0.2.1]\n"
      "server: { state_dir: " +
      state +
      " }\n"
      "lists:\n"
      "  mic: { primary: [127.0.0.30:5470], zone: mic.rpz, format: rpz }\n"
      "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [mic] }\n";
  tmp.write("state/lists/mic/current", "$ORIGIN mic.rpz.\nsaved.example CNAME .\n");
  sinkhole::policy::BuildOptions options;
  options.candidates["mic"] = "";
  const auto r = build_snapshot(yaml, tmp.config(), 1, nullptr, options);
  REQUIRE(r.snapshot);
  CHECK(r.snapshot->lists[0].pending);
  CHECK_FALSE(r.snapshot->lists[0].matcher->lookup_text("saved.example", nullptr));
}

// The TSIG secret is read by the build, so no transfer thread or worker opens a file.
TEST_CASE("an RPZ list's TSIG secret is read at build time") {
  sinkhole::test::TempDir tmp;
  auto build = [&](const std::string& key_text, const std::string& name = "feed") {
    tmp.write("feed.key", key_text);
    return build_snapshot("upstreams: [192.0.2.1]\nserver: { state_dir: " + tmp.path("s") +
                              " }\nlists:\n  mic: { primary: 127.0.0.30, zone: mic.rpz, "
                              "tsig: { name: " +
                              name + ", secret_file: feed.key } }\n",
                          tmp.config(), 1);
  };
  auto r = build("key:\n  - id: feed\n    algorithm: hmac-sha256\n    secret: YWJjZA==\n");
  INFO(messages(r.errors));
  REQUIRE(r.snapshot);
  REQUIRE(r.snapshot->lists[0].source.rpz.tsig);
  CHECK(r.snapshot->lists[0].source.rpz.tsig->secret == "YWJjZA==");
  r = build("key:\n  - id: other\n    secret: YWJjZA==\n");
  CHECK_FALSE(r.snapshot);
  CHECK(messages(r.errors).find("holds the key 'other'") != std::string::npos);
  r = build("garbage!\n");
  CHECK_FALSE(r.snapshot);
  CHECK(messages(r.errors).find("not valid base64") != std::string::npos);
  std::filesystem::remove(tmp.path("feed.key"));
  r = build_snapshot(
      "upstreams: [192.0.2.1]\nlists:\n  mic: { primary: 127.0.0.30, zone: "
      "mic.rpz, tsig: { name: feed, secret_file: feed.key } }\n",
      tmp.config(), 1);
  CHECK_FALSE(r.snapshot);
  CHECK(messages(r.errors).find("cannot read") != std::string::npos);
}

TEST_CASE("a list's source keys are checked") {
  sinkhole::test::TempDir tmp;
  auto errors_of = [&](const std::string& list) {
    const auto r =
        build_snapshot("upstreams: [192.0.2.1]\nlists:\n  l: " + list + "\n", tmp.config(), 1);
    CHECK_FALSE(r.snapshot);
    return messages(r.errors);
  };
  CHECK(errors_of("{ path: a.txt, url: https://x.example/l }").find("exactly one of path") !=
        std::string::npos);
  CHECK(errors_of("{ category: x }").find("exactly one of path") != std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1 }").find("no zone") != std::string::npos);
  CHECK(errors_of("{ primary: nonsense, zone: z }").find("is not an address") != std::string::npos);
  CHECK(errors_of("{ url: ftp://x.example/l }").find("must start with http") != std::string::npos);
  CHECK(errors_of("{ url: https://x.example/l, refresh: 1s }").find("at least 10s") !=
        std::string::npos);
  CHECK(errors_of("{ url: https://x.example/l, zone: z }").find("is for an RPZ secondary") !=
        std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, url: https://x.example/l }")
            .find("exactly one of") != std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, refresh: 1m }").find("is for an HTTP source") !=
        std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, tsig: { name: k, secret_file: f, algorithm: "
                  "hmac-foo } }")
            .find("is not one of hmac-md5") != std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, tsig: { name: k } }")
            .find("needs a name and a "
                  "secret_file") != std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, on_expire: maybe }").find("keep or drop") !=
        std::string::npos);
  CHECK(errors_of("{ primary: 127.0.0.1, zone: z, updates: later }")
            .find("updates must be enforce or stage, not 'later'") != std::string::npos);
  // A file list's versions are staged by hand: the key is an error there, with its place.
  CHECK(errors_of("{ path: a.txt, updates: stage }").find("updates is for a feed list") !=
        std::string::npos);
  CHECK(errors_of("{ path: a.txt, updates: stage }").find("sinkholed.yaml:3:") !=
        std::string::npos);
  // file:line:column, as every configuration error.
  CHECK(errors_of("{ url: ftp://x.example/l }").find("sinkholed.yaml:3:") != std::string::npos);
}
