// SPDX-License-Identifier: MIT
// The configuration reference: one row per key of sinkholed.yaml — its dotted path, type,
// default, whether a reload applies it, one line of documentation, an example value and,
// for a server setting, how to render its effective value from a Config. It is the single
// source of three things that must agree:
//   - the loaders' known-key checks (config.cc, access_config.cc, dnstap_config.cc and
//     policy/snapshot_builder.cc call YamlReader::check_keys with keys_of(section)), so a
//     key cannot be accepted without being documented;
//   - the reference documents (config_reference.h: sinkholed.yaml(5), docs/CONFIG.md);
//   - `sinkholectl config show` (the effective configuration, defaults filled in).
//
// Paths: "server.listen"; a map of names the operator chooses is written `<name>`
// ("lists.<name>.path"), a sequence `[]` ("policies[].block[].list").
// Adding a key: one row in config_schema.cc (keep one row per line), then read it in the
// loader; the unit tests fail until both agree.
// Any thread: the table is constant; keys_of builds its sets once, thread-safely.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace sinkhole::config {

struct Config;

namespace schema {

// What a reload does with a changed value.
enum class Apply : uint8_t {
  kLive,     // applied by the reload
  kRestart,  // named in the reload's reply as "restart required: <path>"
};

enum class Type : uint8_t {
  kString,
  kPath,         // a file name; relative list paths are relative to the config file
  kBool,         // true or false
  kInteger,      // detail: the range
  kDuration,     // 1500ms, 2s, 5m, 1h, 1d
  kSize,         // 4096, 64KiB, 256MiB, 1GiB
  kFraction,     // 0.01 or 1%
  kPercentage,   // 10%
  kOctal,        // "0660"
  kEnum,         // detail: the values
  kAddress,      // 127.0.0.1:9153, [::1]:9153
  kAddressList,  // [192.0.2.1:53, "[2001:db8::1]:53"]
  kCidrList,     // [10.0.0.0/8, 2001:db8::/32]
  kNameList,     // names of lists
  kName,         // the name of a list, action or policy
  kIpList,       // IPv4 or IPv6 addresses, one or a list
  kHostName,
  kTemplate,    // text with {list}, {category}, {line}, {file}, {authority}, {reference}
  kBlockRules,  // a list of list names or {list, action} mappings
};

using Json = nlohmann::ordered_json;

struct Key {
  std::string_view path;
  Type type;
  std::string_view detail;  // the range or the values; "" when the type says it all
  // As it would be written in YAML; in parentheses when it is a description instead
  // ("(the host name)"), or "(required)".
  std::string_view default_text;
  Apply apply;
  std::string_view doc;      // one line
  std::string_view example;  // a YAML value
  // Server settings: the effective value in a loaded Config. Null for the policy keys
  // (lists, actions, policies: `sinkholectl lists` and `explain` show those).
  Json (*render)(const Config&) = nullptr;
};

// Every key, in reference order.
std::span<const Key> keys();
const Key* find(std::string_view path);

// The keys a mapping may hold: "" is the top level, then "server", "lists.<name>",
// "policies[]", "policies[].block[]"...: the next component of every path under it.
const std::set<std::string>& keys_of(std::string_view section);

// The top-level section a path belongs to ("lists.<name>.path" → "lists").
std::string_view section_of(std::string_view path);

struct Section {
  std::string_view name;   // the top-level key
  std::string_view title;  // a few words
  std::string_view intro;  // a paragraph
};
// Every top-level key, in reference order.
std::span<const Section> sections();

std::string_view type_name(Type t);
// "integer 1..256, or auto": the type with its detail.
std::string type_text(const Key& k);
std::string_view apply_text(Apply a);  // "live" or "restart"

// The paths of the rendered (server) settings that `root` sets: `config show` marks the
// others "# default".
std::set<std::string> keys_set(const YAML::Node& root);

// A value as it would be written in YAML: bare when unambiguous, else JSON-quoted; a
// sequence in flow style ("[a, b]"); null as "null".
std::string yaml_text(const Json& value);

}  // namespace schema
}  // namespace sinkhole::config
