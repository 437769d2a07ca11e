// SPDX-License-Identifier: MIT
// The policy keys of the configuration table (lists, actions, policies, list_defaults,
// default_policy) against policy::build_snapshot: each mapping accepts exactly the table's
// keys, every key's example builds, and every key is read (a mapping where its value
// belongs is an error), so no key is accepted without being documented or documented
// without being read. (The server settings: tests/resolver/config/config_schema_test.cc.)
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy/snapshot_builder.h"
#include "resolver/config/config_schema.h"
#include "tests/policy/temp_dir.h"

namespace {

using sinkhole::config::schema::Key;
namespace schema = sinkhole::config::schema;

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

// Lists and an action the examples name, with room for one more list or action.
std::string base(const std::string& list = "", const std::string& action = "") {
  return "upstreams: [192.0.2.1]\n"
         "actions:\n"
         "  warning-page: { type: sinkhole, a: 192.0.2.10 }\n" +
         (action.empty() ? "" : "  probe: " + action + "\n") +
         "lists:\n"
         "  gambling: { path: lists/gambling.txt }\n"
         "  staff-allow: { path: staff.txt }\n" +
         (list.empty() ? "" : "  probe: " + list + "\n");
}

struct Fixture {
  sinkhole::test::TempDir tmp;
  Fixture() {
    tmp.write("lists/gambling.txt", "casino.example\n");
    tmp.write("staff.txt", "intranet.example\n");
    tmp.write("probe.txt", "probe.example\n");
    tmp.write("probe.hosts", "0.0.0.0 probe.example\n");
    tmp.write("feed.key", "c2lua2hvbGVkLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmch\n");
    tmp.write("keys/feed.key", "c2lua2hvbGVkLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmch\n");
  }
  sinkhole::policy::BuildResult build(const std::string& yaml) {
    return sinkhole::policy::build_snapshot(yaml, tmp.config(), 1);
  }
};

// A configuration that sets the policy key `path` to `value` (a YAML flow value), with
// what it needs beside it.
std::string yaml_with(std::string_view path, const std::string& value) {
  const auto leaf = std::string(path.substr(path.rfind('.') + 1));
  if (path.starts_with("list_defaults."))
    return base() + "list_defaults: { " + leaf + ": " + value + " }\n";
  if (path.starts_with("lists.<name>.tsig.")) {
    std::map<std::string, std::string> tsig = {{"name", "feed"}, {"secret_file", "feed.key"}};
    tsig[leaf] = value;
    std::string map;
    for (const auto& [k, v] : tsig) map += (map.empty() ? "" : ", ") + k + ": " + v;
    return base("{ primary: 127.0.0.30, zone: mic.rpz, tsig: { " + map + " } }");
  }
  if (path.starts_with("lists.<name>.")) {
    if (leaf == "path") return base("{ path: " + value + " }");
    // Feed lists: no copy in the state directory yet, so they build pending (empty).
    if (leaf == "primary") return base("{ primary: " + value + ", zone: mic.rpz }");
    if (leaf == "zone") return base("{ primary: 127.0.0.30, zone: " + value + " }");
    if (leaf == "on_expire" || leaf == "updates")
      return base("{ primary: 127.0.0.30, zone: mic.rpz, " + leaf + ": " + value + " }");
    if (leaf == "url") return base("{ url: " + value + " }");
    if (leaf == "refresh" || leaf == "max_bytes" || leaf == "timeout" || leaf == "ca_file")
      return base("{ url: https://lists.example/x.txt, " + leaf + ": " + value + " }");
    if (leaf == "format") return base("{ path: probe.hosts, format: " + value + " }");
    // The example names an exception list; the fixture has it under the example's name.
    if (leaf == "exceptions")
      return base("{ path: probe.txt, exceptions: " + value +
                  " }\n  mic-exceptions: { path: staff.txt }");
    if (path.starts_with("lists.<name>.basis."))
      return base("{ path: probe.txt, basis: { " + leaf + ": " + value + " } }");
    return base("{ path: probe.txt, " + leaf + ": " + value + " }");
  }
  if (path.starts_with("actions.<name>.")) {
    if (leaf == "type") return base("", "{ type: " + value + ", a: 192.0.2.11 }");
    if (leaf == "target") return base("", "{ type: cname, target: " + value + " }");
    if (leaf == "a" || leaf == "aaaa" || leaf == "ttl" || leaf == "soa_ttl")
      return base("", std::string("{ type: sinkhole, ") + (leaf == "a" ? "" : "a: 192.0.2.11, ") +
                          leaf + ": " + value + " }");
    return base("", "{ type: nxdomain, " + leaf + ": " + value + " }");
  }
  const std::string out = base();
  if (path == "policies[].name") return out + "policies:\n  - { name: " + value + " }\n";
  if (path == "policies[].block[].list")
    return out + "policies:\n  - { name: probe, block: [ { list: " + value + " } ] }\n";
  if (path == "policies[].block[].action")
    return out + "policies:\n  - { name: probe, block: [ { list: gambling, action: " + value +
           " } ] }\n";
  if (path == "policies[].clients")
    return out + "policies:\n  - { name: probe, clients: " + value + " }\n";
  if (path.starts_with("policies[]."))
    return out + "policies:\n  - { name: probe, clients: [198.51.100.0/24], " + leaf + ": " +
           value + " }\n";
  if (path == "default_policy")
    return out + "policies:\n  - { name: subscribers }\ndefault_policy: " + value + "\n";
  FAIL("no fixture for ", path);
  return out;
}

bool is_policy_key(const Key& k) {
  return k.render == nullptr;
}

std::set<std::string> known_in(const std::vector<std::string>& errors) {
  std::set<std::string> out;
  for (const auto& e : errors) {
    const size_t at = e.find("(known: ");
    if (at == e.npos || e.find("zz_unknown") == e.npos) continue;
    const std::string list = e.substr(at + 8, e.rfind(')') - at - 8);
    size_t start = 0;
    while (true) {
      const size_t comma = list.find(", ", start);
      out.insert(list.substr(start, comma == list.npos ? list.npos : comma - start));
      if (comma == list.npos) break;
      start = comma + 2;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("each policy mapping accepts exactly the keys of the table") {
  Fixture f;
  struct Case {
    const char* section;
    std::string yaml;
  };
  const Case cases[] = {
      {"list_defaults", base() + "list_defaults: { zz_unknown: 1 }\n"},
      {"lists.<name>", base("{ path: probe.txt, zz_unknown: 1 }")},
      {"lists.<name>.basis", base("{ path: probe.txt, basis: { zz_unknown: 1 } }")},
      {"actions.<name>", base("", "{ type: nxdomain, zz_unknown: 1 }")},
      {"policies[]", base() + "policies:\n  - { name: probe, zz_unknown: 1 }\n"},
      {"policies[].block[]",
       base() + "policies:\n  - { name: probe, block: [ { list: gambling, zz_unknown: 1 } ] }\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.section);
    const auto r = f.build(c.yaml);
    CHECK_FALSE(r.snapshot);
    INFO(joined(r.errors));
    CHECK(known_in(r.errors) == schema::keys_of(c.section));
  }
}

TEST_CASE("every policy key: its example builds, and a wrong value is an error (it is read)") {
  Fixture f;
  size_t checked = 0;
  for (const Key& k : schema::keys()) {
    if (!is_policy_key(k)) continue;
    CAPTURE(k.path);
    const std::string good = yaml_with(k.path, std::string(k.example));
    const auto built = f.build(good);
    INFO(good);
    INFO(joined(built.errors));
    CHECK(built.snapshot);
    const auto bad = f.build(yaml_with(k.path, "{ zz: 1 }"));
    CHECK_FALSE(bad.snapshot);
    ++checked;
  }
  CHECK(checked >= 25);
}
