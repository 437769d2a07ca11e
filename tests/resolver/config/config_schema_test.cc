// SPDX-License-Identifier: MIT
// The configuration key table against the loader it drives: each server section accepts
// exactly the table's keys; every server setting's example loads, is read (it changes the
// effective value) and renders back as written; the documented defaults are the defaults
// in force; the reload classification is the one the reload contract names; and the
// generated reference (man page, markdown, config show) carries every key.
// (The policy sections: tests/policy/config_schema_test.cc.)
#include "resolver/config/config_schema.h"
#include "resolver/config/config_diff.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/config/config_reference.h"

namespace {

using namespace sinkhole::config;
using schema::Apply;
using schema::Key;

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

bool descriptive(const Key& k) {
  return k.default_text.front() == '(';
}

// A config that sets `path` to `value`, with what the key needs beside it: upstreams
// (so /etc/resolv.conf is never read) and a dnstap output.
std::string yaml_with(std::string_view path, std::string_view value) {
  std::string out;
  const size_t dot = path.find('.');
  const std::string section(path.substr(0, dot));
  if (section != "upstreams") out += "upstreams: [192.0.2.1]\n";
  if (dot == path.npos) return out + std::string(path) + ": " + std::string(value) + "\n";
  const std::string leaf(path.substr(dot + 1));
  out += section + ":\n  " + leaf + ": " + std::string(value) + "\n";
  if (section == "dnstap" && leaf != "socket" && leaf != "file") out += "  socket: /run/x.sock\n";
  return out;
}

// The same value whether or not YAML needed quotes around its parts.
std::string unquoted(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
  return s;
}

Config loaded(const std::string& yaml) {
  auto r = parse_config(yaml, "cfg.yaml", "/nonexistent/resolv.conf");
  INFO(yaml);
  INFO(joined(r.errors));
  REQUIRE(r.config);
  return *r.config;
}

// The keys an "unknown key" error lists as known.
std::set<std::string> known_in(const std::vector<std::string>& errors) {
  std::set<std::string> out;
  for (const auto& e : errors) {
    const size_t at = e.find("(known: ");
    if (at == e.npos || e.find("zz_unknown") == e.npos) continue;
    std::string list = e.substr(at + 8, e.rfind(')') - at - 8);
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = list.find(", ", start);
      out.insert(list.substr(start, comma == list.npos ? list.npos : comma - start));
      if (comma == list.npos) break;
      start = comma + 2;
    }
  }
  return out;
}

bool is_policy_section(std::string_view s) {
  return s == "lists" || s == "actions" || s == "policies" || s == "list_defaults" ||
         s == "default_policy";
}

}  // namespace

TEST_CASE("rows: unique paths, one line of doc, an example, a known section") {
  std::set<std::string_view> paths;
  std::set<std::string_view> sections_used;
  for (const Key& k : schema::keys()) {
    CAPTURE(k.path);
    CHECK(paths.insert(k.path).second);
    CHECK(schema::find(k.path) == &k);
    CHECK_FALSE(k.doc.empty());
    CHECK(k.doc.find('\n') == std::string_view::npos);
    CHECK_FALSE(k.example.empty());
    CHECK_FALSE(k.default_text.empty());
    // Server settings render their effective value; the policy keys are shown by
    // sinkholectl lists / explain instead.
    CHECK((k.render != nullptr) == !is_policy_section(schema::section_of(k.path)));
    sections_used.insert(schema::section_of(k.path));
  }
  std::set<std::string_view> declared;
  for (const auto& s : schema::sections()) {
    CHECK(declared.insert(s.name).second);
    CHECK(sections_used.count(s.name));
  }
  CHECK(declared == sections_used);
  CHECK(schema::find("server.nope") == nullptr);
  // The keys that once existed only in the code (issue 13) are documented.
  for (const char* p : {"lists.<name>.action", "actions.<name>.log", "control.watch_debounce"})
    CHECK(schema::find(p) != nullptr);
}

TEST_CASE("live at reload or restart required: the table says what a reload does") {
  // The reference's live/restart column must be what config_diff (the reload) does: each
  // server key set to its example, against the defaults, is named restart-required
  // exactly when the table says restart (dnstap as one key: its writer is made at start).
  const Config defaults = loaded("upstreams: [192.0.2.1]\n");
  size_t checked = 0;
  for (const Key& k : schema::keys()) {
    if (!k.render || k.path == "upstreams") continue;
    CAPTURE(k.path);
    Config changed = loaded(yaml_with(k.path, k.example));
    // dnstap keys need a dnstap section on both sides to compare one field.
    const bool dnstap = k.path.starts_with("dnstap.");
    const Config base = dnstap ? loaded(yaml_with("dnstap.socket", "/run/x.sock")) : defaults;
    if (dnstap && k.path == "dnstap.socket")
      changed = loaded(yaml_with("dnstap.socket", "/run/y.sock"));
    const auto restart = restart_required_changes(base, changed);
    const std::string name = dnstap ? "dnstap" : std::string(k.path);
    const bool named = std::find(restart.begin(), restart.end(), name) != restart.end();
    CHECK(named == (k.apply == Apply::kRestart));
    if (k.apply == Apply::kLive) {
      CHECK(restart.empty());
      const auto live = live_changes(base, changed);
      CHECK(std::find(live.begin(), live.end(), std::string(k.path)) != live.end());
    }
    ++checked;
  }
  CHECK(checked > 50);
  // Every server.tcp_* and metrics.* key is restart-required, whatever is added later.
  for (const Key& k : schema::keys()) {
    CAPTURE(k.path);
    if (k.path.starts_with("server.tcp_") || k.path.starts_with("metrics."))
      CHECK(k.apply == Apply::kRestart);
  }
}

TEST_CASE("keys_of: the next component of every path under a section") {
  CHECK(schema::keys_of("") ==
        std::set<std::string>{"server", "upstreams", "upstream", "cache", "log", "control",
                              "metrics", "dnstap", "rate_limit", "protected_users", "list_defaults",
                              "lists", "actions", "policies", "default_policy"});
  CHECK(schema::keys_of("protected_users") == std::set<std::string>{"key_file"});
  CHECK(schema::keys_of("policies[]") ==
        std::set<std::string>{"name", "clients", "allow", "block"});
  CHECK(schema::keys_of("policies[].block[]") == std::set<std::string>{"list", "action"});
  CHECK(schema::keys_of("log") == std::set<std::string>{"level", "blocked_queries",
                                                        "blocked_queries_format", "client_address",
                                                        "debug_query_rate"});
  CHECK(schema::keys_of("nowhere").empty());
  CHECK(schema::section_of("lists.<name>.path") == "lists");
  CHECK(schema::section_of("policies[].block[].list") == "policies");
  CHECK(schema::section_of("upstreams") == "upstreams");
}

TEST_CASE("each server section accepts exactly the keys of the table") {
  for (const char* section :
       {"", "server", "upstream", "log", "control", "cache", "metrics", "dnstap", "rate_limit"}) {
    CAPTURE(section);
    const std::string yaml =
        *section ? std::string("upstreams: [192.0.2.1]\n") + section + ":\n  zz_unknown: 1\n"
                 : std::string("upstreams: [192.0.2.1]\nzz_unknown: 1\n");
    const auto r = parse_config(yaml, "cfg.yaml", "/nonexistent/resolv.conf");
    CHECK_FALSE(r.config);
    INFO(joined(r.errors));
    CHECK(joined(r.errors).find(std::string("in ") + (*section ? section : "the top level")) !=
          std::string::npos);
    CHECK(known_in(r.errors) == schema::keys_of(section));
  }
}

TEST_CASE("every server setting: its example loads, is read, and renders back as written") {
  const Config defaults = loaded(yaml_with("dnstap.socket", "/run/x.sock"));
  size_t checked = 0;
  for (const Key& k : schema::keys()) {
    if (!k.render) continue;
    CAPTURE(k.path);
    const Config c = loaded(yaml_with(k.path, k.example));
    const std::string shown = schema::yaml_text(k.render(c));
    CHECK(unquoted(shown) == unquoted(std::string(k.example)));
    // Read, not merely accepted: the example is not the default.
    CHECK(shown != schema::yaml_text(k.render(defaults)));
    CHECK(c.set_keys.count(std::string(k.path)));
    ++checked;
  }
  CHECK(checked > 40);
}

TEST_CASE("the documented defaults are the defaults in force") {
  // An empty server part (dnstap needs an output to exist at all).
  const Config c = loaded("upstreams: [192.0.2.1]\ndnstap:\n  socket: /run/x.sock\n");
  for (const Key& k : schema::keys()) {
    if (!k.render || descriptive(k)) continue;
    CAPTURE(k.path);
    CHECK(schema::yaml_text(k.render(c)) == k.default_text);
  }
  // The descriptive ones say what happens when unset.
  CHECK(schema::find("server.identity")->render(c).is_null());
  CHECK(schema::find("metrics.listen")->render(c).is_null());
  const Config no_dnstap = loaded("upstreams: [192.0.2.1]\n");
  CHECK(schema::find("dnstap.client_queries")->render(no_dnstap).is_null());
}

TEST_CASE("yaml_text: bare when unambiguous, quoted otherwise, flow sequences") {
  using J = schema::Json;
  CHECK(schema::yaml_text(J("auto")) == "auto");
  CHECK(schema::yaml_text(J("10%")) == "10%");
  CHECK(schema::yaml_text(J("/run/sinkholed/control.sock")) == "/run/sinkholed/control.sock");
  CHECK(schema::yaml_text(J("0660")) == "\"0660\"");
  CHECK(schema::yaml_text(J("")) == "\"\"");
  CHECK(schema::yaml_text(J("true")) == "\"true\"");
  CHECK(schema::yaml_text(J("127.0.0.1:53")) == "\"127.0.0.1:53\"");
  CHECK(schema::yaml_text(J("a # b")) == "\"a # b\"");
  CHECK(schema::yaml_text(J(1232)) == "1232");
  CHECK(schema::yaml_text(J(false)) == "false");
  CHECK(schema::yaml_text(J(nullptr)) == "null");
  CHECK(schema::yaml_text(J::array()) == "[]");
  CHECK(schema::yaml_text(J::array({"10.0.0.0/8", "::1/128"})) == "[10.0.0.0/8, \"::1/128\"]");
}

TEST_CASE("config show: every server setting, the ones not set marked default") {
  const Config c = loaded(
      "server:\n  workers: 3\n  listen: [127.0.0.1:5353]\nupstreams: [192.0.2.1]\n"
      "cache:\n  max_bytes: 1GiB\n");
  const std::string text = effective_text(c);
  CHECK(text.find("server.workers: 3\n") != std::string::npos);
  CHECK(text.find("server.listen: [\"127.0.0.1:5353\"]\n") != std::string::npos);
  CHECK(text.find("cache.max_bytes: 1GiB\n") != std::string::npos);
  CHECK(text.find("upstreams: [\"192.0.2.1:53\"]\n") != std::string::npos);
  CHECK(text.find("server.udp_payload: 1232  # default\n") != std::string::npos);
  CHECK(text.find("control.watch_debounce: 1s  # default\n") != std::string::npos);
  CHECK(text.find("dnstap.socket: null  # default\n") != std::string::npos);
  CHECK(text.rfind("# cfg.yaml: ", 0) == 0);
  size_t lines = 0, rendered = 0;
  for (char ch : text) lines += ch == '\n';
  for (const Key& k : schema::keys()) rendered += k.render != nullptr;
  CHECK(lines == rendered + 1);

  const auto j = effective_json(c);
  CHECK(j["config"] == "cfg.yaml");
  CHECK(j["settings"].size() == rendered);
  CHECK(j["settings"]["server.workers"]["value"] == 3);
  CHECK(j["settings"]["server.workers"]["default"] == false);
  CHECK(j["settings"]["server.udp_payload"]["value"] == 1232);
  CHECK(j["settings"]["server.udp_payload"]["default"] == true);
  CHECK(j["settings"]["server.allow_query"]["value"].size() == 8);
}

TEST_CASE("the man page: every key with its type, default, reload and example; roff-safe") {
  const std::string page = man_page("9.9.9");
  CHECK(page.find(".TH SINKHOLED.YAML 5 \"\" \"sinkholed 9.9.9\"") != std::string::npos);
  for (const Key& k : schema::keys()) {
    CAPTURE(k.path);
    std::string escaped;
    for (char ch : k.path) escaped += ch == '-' ? std::string("\\-") : std::string(1, ch);
    CHECK(page.find(".B " + escaped + "\n") != std::string::npos);
  }
  size_t live = 0, restart = 0;
  for (size_t at = 0; (at = page.find("Reload: live.", at)) != std::string::npos; ++at) ++live;
  for (size_t at = 0; (at = page.find("Reload: restart required.", at)) != std::string::npos; ++at)
    ++restart;
  CHECK(live + restart == schema::keys().size());
  CHECK(page.find("Default: \\fB1232\\fR.") != std::string::npos);
  CHECK(page.find("Example: \\fBlevel: debug\\fR") != std::string::npos);
  // Only ASCII: the em dash and the like are groff escapes, whatever the build's locale.
  CHECK(std::all_of(page.begin(), page.end(),
                    [](char ch) { return static_cast<unsigned char>(ch) < 0x80; }));
  CHECK(page.find("\\[u2014]") != std::string::npos);
  CHECK(page.find("???") == std::string::npos);
  // No line starts with a roff control character by accident.
  size_t start = 0;
  while (start < page.size()) {
    const size_t end = page.find('\n', start);
    const std::string line = page.substr(start, end - start);
    if (!line.empty() && (line[0] == '.' || line[0] == '\''))
      CHECK_MESSAGE(
          (line.starts_with(".TH") || line.starts_with(".SH") || line.starts_with(".TP") ||
           line.starts_with(".B") || line.starts_with(".PP") || line.starts_with(".\\\"") ||
           line.starts_with(".br") || line == ".nh" || line == ".ad l"),
          line);
    start = end + 1;
  }
}

TEST_CASE("the markdown reference: one table row per key") {
  const std::string md = markdown_reference();
  for (const Key& k : schema::keys()) {
    CAPTURE(k.path);
    CHECK(md.find("| `" + std::string(k.path) + "` | ") != std::string::npos);
  }
  for (const auto& s : schema::sections())
    CHECK(md.find("## `" + std::string(s.name) + "` — ") != std::string::npos);
  // "<name>" outside code would be read as an HTML tag.
  CHECK(md.find("| lists.&lt;name>.action |") != std::string::npos);
  size_t rows = 0;
  for (size_t at = 0; (at = md.find("\n| `", at)) != std::string::npos; ++at) ++rows;
  CHECK(rows == schema::keys().size());
}
