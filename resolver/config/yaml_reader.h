// SPDX-License-Identifier: MIT
// The configuration file as read once, and the toolkit its sections are read with.
//   Document    the file parsed into a YAML tree, once per start and once per reload; every
//               node keeps its position, so each reader of the tree (config::parse_config
//               for the server settings, policy::build_snapshot for lists, actions and
//               policies) reports errors where they stand without parsing the text again.
//   YamlReader  typed scalars, keys checked against the ones a section knows (an unknown
//               or repeated key is an error at its own position), and diagnostics as
//               `file:line:column: message` (1-based, as editors count).
// Used by resolver/config and policy/snapshot_builder. Load path only (may allocate,
// throw): the control thread at start-up, the reload work thread.
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/config/socket_address.h"

namespace sinkhole::config {

struct Document {
  std::string path;  // names the file in diagnostics; anchors relative list paths
  YAML::Node root;   // null for an empty file
  // The text it was parsed from: a snapshot keeps it, so that a feed's build parses the
  // configuration in service again instead of reading the file (policy/snapshot_builder.h).
  std::shared_ptr<const std::string> text;
};

struct DocumentResult {
  std::optional<Document> document;
  std::vector<std::string> errors;  // "path: cannot read: ..." or "file:line:column: ..."
};

// Parses YAML text; `name` is used in diagnostics (and as the document's path).
DocumentResult parse_document(std::string_view yaml, const std::string& name);
// Reads the file at `path` and parses it.
DocumentResult load_document(const std::string& path);

class YamlReader {
 public:
  explicit YamlReader(std::string name) : name_(std::move(name)) {}

  void error(const YAML::Mark& m, const std::string& msg) {
    // yaml-cpp marks are 0-based; editors count from 1.
    errors_.push_back(fmt::format("{}:{}:{}: {}", name_, m.line + 1, m.column + 1, msg));
  }
  void error_at(const YAML::Node& n, const std::string& msg) { error(n.Mark(), msg); }

  // Reports keys of `map` not in `allowed`; returns false if `map` is not a map.
  bool check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                  const std::string& where) {
    if (!map.IsMap()) {
      error_at(map, fmt::format("{} must be a mapping", where));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      // yaml-cpp keeps both copies of a repeated key and node[key] returns the first, so
      // the second value would be silently ignored: reject it where it stands.
      if (!seen.insert(key).second) {
        error_at(kv.first, fmt::format("key '{}' repeated in {}", key, where));
        continue;
      }
      if (!allowed.count(key)) {
        std::string known;
        for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
        error_at(kv.first, fmt::format("unknown key '{}' in {} (known: {})", key, where, known));
      }
    }
    return true;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error_at(n, fmt::format("{} must be a scalar", what));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<unsigned long> unsigned_in(const YAML::Node& n, const std::string& what,
                                           unsigned long lo, unsigned long hi) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || v < lo || v > hi) {
      error_at(n, fmt::format("{} must be an integer from {} to {}, not '{}'", what, lo, hi, *s));
      return std::nullopt;
    }
    return v;
  }

  std::optional<Millis> duration(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || d->count() <= 0) {
      error_at(n, fmt::format("{} must be a positive duration with a unit (e.g. 1500ms, 2s), "
                              "not '{}'",
                              what, *s));
      return std::nullopt;
    }
    return d;
  }

  // A fraction from 0 to 1, written "1%" or "0.01".
  std::optional<double> fraction(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto v = parse_fraction(*s);
    if (!v)
      error_at(n, fmt::format("{} must be a fraction from 0 to 1 or a percentage (e.g. 0.01 "
                              "or 1%), not '{}'",
                              what, *s));
    return v;
  }

  std::vector<SocketAddress> addresses(const YAML::Node& n, const std::string& what,
                                       uint16_t default_port) {
    std::vector<SocketAddress> out;
    if (!n.IsSequence()) {
      error_at(n, fmt::format("{} must be a list of addresses", what));
      return out;
    }
    for (const auto& item : n) {
      auto s = scalar(item, what);
      if (!s) continue;
      auto a = SocketAddress::parse(*s, default_port);
      if (!a) {
        error_at(item,
                 fmt::format("{}: '{}' is not an address (use 1.2.3.4:53 or [::1]:53)", what, *s));
        continue;
      }
      out.push_back(*a);
    }
    return out;
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  std::string name_;
  std::vector<std::string> errors_;
};

}  // namespace sinkhole::config
