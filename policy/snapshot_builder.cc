// SPDX-License-Identifier: MIT
#include "policy/snapshot_builder.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "blocklist/content_hash.h"
#include "blocklist/list_reader.h"
#include "policy/cidr.h"
#include "policy/legal_basis.h"
#include "policy/list_copies.h"
#include "policy/list_source.h"
#include "policy/local_overrides.h"
#include "policy/semantic_checks.h"
#include "resolver/config/config.h"
#include "resolver/config/config_schema.h"
#include "resolver/config/yaml_reader.h"
#include "resolver/dns/name.h"
#include "util/log_escape.h"
#include "util/read_file.h"

namespace sinkhole::policy {

namespace {

using config::YamlReader;

// Streams a list's entries into its matcher builder, keeping aside what the snapshot needs
// besides the matcher (RPZ local data, by entry index).
// A list over `max_entries` stops growing the table at that bound (the rest of the file is
// still read, to count its lines, but indexes nothing), so a giant list costs its bound in
// memory, not its size, before it fails.
class MatcherFeed : public blocklist::DomainSink {
 public:
  using LocalData = absl::flat_hash_map<uint32_t, std::vector<blocklist::LocalRecord>>;
  // `keep`, when given, receives the names of the list's block entries: an exception list
  // (another list's `exceptions:`), whose lifts are counted once every list is loaded.
  MatcherFeed(blocklist::MatcherBuilder& mb, uint16_t list, LocalData& local, size_t max_entries,
              std::vector<std::string>* keep = nullptr)
      : mb_(mb), list_(list), local_(local), max_entries_(max_entries), keep_(keep) {}
  void expect(size_t lines, size_t bytes) override {
    if (lines > max_entries_) {
      bytes = static_cast<size_t>(static_cast<double>(bytes) * max_entries_ / lines);
      lines = max_entries_;
    }
    mb_.reserve(lines, bytes);
  }
  void on_domains(std::span<blocklist::DomainEntry> entries, uint32_t first) override {
    fed_ += entries.size();
    if (fed_ > max_entries_) return;
    mb_.add_domains(list_, entries, first);
    if (keep_)
      for (const auto& e : entries)
        if (e.kind == blocklist::RuleKind::kBlock) keep_->push_back(e.name);
    for (size_t i = 0; i < entries.size(); ++i)
      if (!entries[i].local.empty())
        local_.emplace(first + static_cast<uint32_t>(i), std::move(entries[i].local));
  }
  // The builder's table answers a reader's "seen before?" for what it took (RPZ), until
  // the list goes over max_entries (the rest is not indexed).
  bool indexes_all() const override { return !over() && mb_.indexed_all(); }
  bool find_earlier(std::string_view name, Earlier& exact, Earlier& below) const override {
    return mb_.find_earlier(list_, name, exact, below);
  }
  size_t fed() const { return fed_; }
  bool over() const { return fed_ > max_entries_; }

 private:
  blocklist::MatcherBuilder& mb_;
  uint16_t list_;
  LocalData& local_;
  size_t max_entries_;
  std::vector<std::string>* keep_;
  size_t fed_ = 0;  // domain rules handed over (before merging)
};

struct Builtin {
  const char* name;
  ActionKind kind;
};
constexpr Builtin kBuiltins[] = {
    {"nxdomain", ActionKind::kNxDomain},    {"nodata", ActionKind::kNoData},
    {"refused", ActionKind::kRefused},      {"drop", ActionKind::kDrop},
    {"passthru", ActionKind::kPassthru},    {"tcp-only", ActionKind::kTcpOnly},
    {"local-data", ActionKind::kLocalData},
};

std::optional<ActionKind> kind_from(const std::string& s) {
  for (ActionKind k :
       {ActionKind::kSinkhole, ActionKind::kNxDomain, ActionKind::kNoData, ActionKind::kRefused,
        ActionKind::kDrop, ActionKind::kCname, ActionKind::kPassthru})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

// A scalar or a sequence of scalars, as a list.
std::vector<YAML::Node> items(const YAML::Node& n) {
  std::vector<YAML::Node> out;
  if (n.IsSequence())
    for (const auto& i : n) out.push_back(i);
  else
    out.push_back(n);
  return out;
}

class Builder {
 public:
  Builder(const std::string& path, uint64_t generation, const BuildOptions& options)
      : r_(path), path_(path), options_(options) {
    snap_ = std::make_shared<PolicySnapshot>();
    snap_->generation = generation;
    snap_->config_path = path;
    for (const auto& b : kBuiltins) {
      Action a;
      a.name = b.name;
      a.kind = b.kind;
      action_index_[a.name] = static_cast<uint16_t>(snap_->actions.size());
      snap_->actions.push_back(std::move(a));
    }
  }

  void set_config_text(std::shared_ptr<const std::string> text) {
    snap_->config_text = std::move(text);
  }

  void read(const YAML::Node& root) {
    if (!root || root.IsNull()) return finish_builtins();
    if (!root.IsMap()) return r_.error_at(root, "the configuration must be a mapping");
    if (root["actions"]) read_actions(root["actions"]);
    finish_builtins();
    if (const auto d = root["list_defaults"]) {
      if (!d.IsMap())
        r_.error_at(d,
                    "list_defaults must be a mapping (max_reject_ratio, max_shrink, "
                    "max_entries)");
      else if (r_.check_keys(d, config::schema::keys_of("list_defaults"), "list_defaults"))
        read_list_limits(r_, d, "list_defaults", /*per_list=*/false, list_defaults_);
    }
    if (root["lists"]) read_lists(root["lists"]);
    add_overrides();
    if (root["policies"]) read_policies(root["policies"]);
    if (const auto d = root["default_policy"]) {
      if (auto s = r_.scalar(d, "default_policy")) {
        if (*s == "refused") {
          snap_->default_policy = kRefuseClient;
        } else if (auto it = policy_index_.find(*s); it != policy_index_.end()) {
          snap_->default_policy = it->second;
        } else {
          r_.error_at(d,
                      fmt::format("default_policy '{}' is not a policy name (or 'refused')", *s));
        }
      }
    } else if (!root["policies"]) {
      // No policies at all: a plain forwarder, everyone is served.
      snap_->default_policy = kAllowAll;
    }
  }

  BuildResult result(std::chrono::steady_clock::time_point t0, metrics::BlockStats* stats) {
    BuildResult out;
    out.errors = std::move(r_.errors());
    out.warnings = std::move(warnings_);
    out.notices = std::move(notices_);
    out.details = std::move(details_);
    out.refusals = std::move(refusals_);
    out.superseded_pushes = std::move(superseded_);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!out.errors.empty()) return out;
    if (stats) {
      add_cells(*stats);
      snap_->protected_users = &stats->protected_users();
      for (auto& list : snap_->lists) {
        const auto id = stats->category_id(list.category);
        list.protected_category = id ? *id : -1;
        if (!id)
          out.warnings.push_back(
              fmt::format("list {}: category '{}' is not counted in protected users (at most {} "
                          "categories)",
                          list.name, list.category, metrics::ProtectedUsers::kMaxCategories));
      }
    }
    size_t entries = 0;
    for (const auto& l : snap_->lists) entries += l.stats.entries;
    out.summary = fmt::format("{} list(s), {} entries, {} action(s), {} polic{}",
                              snap_->lists.size(), entries, snap_->actions.size(),
                              snap_->policies.size(), snap_->policies.size() == 1 ? "y" : "ies");
    out.lists_rebuilt = rebuilt_;
    out.lists_reused = reused_;
    // A reload (a snapshot serves): how much of it was compiled again.
    if (options_.serving)
      out.summary += fmt::format("; {} list{} rebuilt, {} reused", rebuilt_,
                                 rebuilt_ == 1 ? "" : "s", reused_);
    out.snapshot = std::move(snap_);
    return out;
  }

 private:
  // A counter cell for every (policy, list, action) a verdict can name, so that each
  // appears in the metrics (at 0) from the start; passthru actions count as monitored.
  // Only the first rule of a list in a policy can match (decide() stops there).
  void add_cells(metrics::BlockStats& stats) {
    const size_t n_lists = snap_->lists.size();
    snap_->cell_begin.assign(snap_->policies.size() * n_lists + 1, 0);
    snap_->cells.clear();
    for (size_t p = 0; p < snap_->policies.size(); ++p) {
      const Policy& pol = snap_->policies[p];
      std::vector<std::vector<uint16_t>> actions(n_lists);
      std::vector<bool> seen(n_lists, false);
      for (const auto& rule : pol.block) {
        if (seen[rule.list]) continue;
        seen[rule.list] = true;
        const ListData& list = snap_->lists[rule.list];
        auto& a = actions[rule.list];
        auto add = [&a](int32_t action) {
          if (action >= 0 && std::find(a.begin(), a.end(), action) == a.end())
            a.push_back(static_cast<uint16_t>(action));
        };
        if (rule.action != kNoAction) {
          add(rule.action);
          continue;
        }
        add(list.default_action != kNoAction ? list.default_action : snap_->nxdomain);
        if (list.format == blocklist::Format::kRpz)  // the zone's own rule actions
          for (int32_t z :
               {snap_->nxdomain, snap_->nodata, snap_->drop, snap_->tcp_only, snap_->local_data})
            add(z);
      }
      for (size_t l = 0; l < n_lists; ++l) {
        snap_->cell_begin[p * n_lists + l] = static_cast<uint32_t>(snap_->cells.size());
        const ListData& list = snap_->lists[l];
        for (uint16_t a : actions[l]) {
          const Action& action = snap_->actions[a];
          auto* cell = action.kind == ActionKind::kPassthru
                           ? stats.monitor_cell(pol.name, list.name, list.category, action.name)
                           : stats.cell(pol.name, list.name, list.category, action.name);
          snap_->cells.push_back({a, cell});
        }
      }
    }
    snap_->cell_begin.back() = static_cast<uint32_t>(snap_->cells.size());
  }

  void finish_builtins() {
    snap_->nxdomain = action_index_["nxdomain"];
    snap_->nodata = action_index_["nodata"];
    snap_->refused = action_index_["refused"];
    snap_->drop = action_index_["drop"];
    snap_->passthru = action_index_["passthru"];
    snap_->tcp_only = action_index_["tcp-only"];
    snap_->local_data = action_index_["local-data"];
  }

  void read_actions(const YAML::Node& n) {
    if (!n.IsMap()) return r_.error_at(n, "actions must be a mapping of name → action");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const std::string name = kv.first.as<std::string>();
      const YAML::Node& a = kv.second;
      const std::string where = "action '" + name + "'";
      if (!seen.insert(name).second) {
        r_.error_at(kv.first, fmt::format("{} defined twice", where));
        continue;
      }
      if (!r_.check_keys(a, config::schema::keys_of("actions.<name>"), where)) continue;
      Action act;
      act.name = name;
      if (!a["type"]) {
        r_.error_at(kv.first, where +
                                  " needs a type (sinkhole, nxdomain, nodata, refused, drop, "
                                  "cname, passthru)");
        continue;
      }
      auto type = r_.scalar(a["type"], where + ".type");
      if (!type) continue;
      auto kind = kind_from(*type);
      if (!kind) {
        r_.error_at(a["type"], fmt::format("{}: unknown type '{}' (sinkhole, nxdomain, nodata, "
                                           "refused, drop, cname, passthru)",
                                           where, *type));
        continue;
      }
      act.kind = *kind;
      read_action_params(a, act, where);
      auto it = action_index_.find(name);
      if (it != action_index_.end() && it->second >= std::size(kBuiltins)) {
        r_.error_at(kv.first, fmt::format("{} defined twice", where));
        continue;
      }
      if (it != action_index_.end()) {  // redefines a built-in (e.g. its SOA TTL or EDE)
        snap_->actions[it->second] = std::move(act);
      } else {
        action_index_[name] = static_cast<uint16_t>(snap_->actions.size());
        snap_->actions.push_back(std::move(act));
      }
    }
  }

  void read_action_params(const YAML::Node& a, Action& act, const std::string& where) {
    const size_t errors_before = r_.errors().size();
    auto only_for = [&](const char* key, std::initializer_list<ActionKind> kinds) {
      if (!a[key]) return false;
      for (ActionKind k : kinds)
        if (act.kind == k) return true;
      r_.error_at(a[key], fmt::format("{}: '{}' does not apply to type {}", where, key,
                                      to_string(act.kind)));
      return false;
    };
    if (only_for("a", {ActionKind::kSinkhole})) {
      for (const auto& item : items(a["a"])) {
        std::array<uint8_t, 4> v{};
        auto s = r_.scalar(item, where + ".a");
        if (s && inet_pton(AF_INET, s->c_str(), v.data()) == 1)
          act.a.push_back(v);
        else if (s)
          r_.error_at(item, fmt::format("{}.a: '{}' is not an IPv4 address", where, *s));
      }
    }
    if (only_for("aaaa", {ActionKind::kSinkhole})) {
      for (const auto& item : items(a["aaaa"])) {
        std::array<uint8_t, 16> v{};
        auto s = r_.scalar(item, where + ".aaaa");
        if (s && inet_pton(AF_INET6, s->c_str(), v.data()) == 1)
          act.aaaa.push_back(v);
        else if (s)
          r_.error_at(item, fmt::format("{}.aaaa: '{}' is not an IPv6 address", where, *s));
      }
    }
    // (When an address was given but is bad, that error already says what is wrong.)
    if (act.kind == ActionKind::kSinkhole && act.a.empty() && act.aaaa.empty() &&
        r_.errors().size() == errors_before)
      r_.error_at(a, fmt::format("{}: a sinkhole needs an 'a' and/or 'aaaa' address", where));
    if (only_for("ttl", {ActionKind::kSinkhole, ActionKind::kCname}))
      if (auto v = r_.unsigned_in(a["ttl"], where + ".ttl", 0, 604800))
        act.ttl = static_cast<uint32_t>(*v);
    if (only_for("soa_ttl", {ActionKind::kSinkhole, ActionKind::kNxDomain, ActionKind::kNoData}))
      if (auto v = r_.unsigned_in(a["soa_ttl"], where + ".soa_ttl", 0, 86400))
        act.soa_ttl = static_cast<uint32_t>(*v);
    if (only_for("target", {ActionKind::kCname})) {
      if (auto s = r_.scalar(a["target"], where + ".target")) {
        uint8_t wire[dns::kMaxNameWire];
        std::string t = *s;
        if (!t.empty() && t.back() == '.') t.pop_back();
        const size_t n = dns::text_to_wire(t, wire);
        if (n == 0)
          r_.error_at(a["target"], fmt::format("{}.target: '{}' is not a host name", where, *s));
        else
          act.target.assign(wire, wire + n);
      }
    } else if (act.kind == ActionKind::kCname) {
      r_.error_at(a, fmt::format("{}: a cname action needs a target host name", where));
    }
    if (const auto e = a["ede"]) {
      if (auto s = r_.scalar(e, where + ".ede")) {
        if (*s == "blocked")
          act.ede_code = 15;
        else if (*s == "censored")
          act.ede_code = 16;
        else if (*s == "filtered")
          act.ede_code = 17;
        else if (*s == "none")
          act.ede = false;
        else
          r_.error_at(e, fmt::format("{}.ede: '{}' is not one of blocked, censored, filtered, none",
                                     where, *s));
      }
    }
    if (const auto t = a["ede_text"]) {
      if (auto s = r_.scalar(t, where + ".ede_text")) {
        std::string err;
        if (!parse_ede_template(*s, act.ede_text, &err)) r_.error_at(t, where + ": " + err);
      }
    }
    if (const auto l = a["log"]) {
      auto s = r_.scalar(l, where + ".log");
      if (s && (*s == "true" || *s == "false"))
        act.log = *s == "true";
      else if (s)
        r_.error_at(l, fmt::format("{}.log must be true or false", where));
    }
  }

  void read_lists(const YAML::Node& n) {
    if (!n.IsMap()) return r_.error_at(n, "lists must be a mapping of name → list");
    const std::filesystem::path base = std::filesystem::path(path_).parent_path();
    std::map<std::string, uint16_t> category_ids;
    std::set<std::string> seen;
    // The lists some list names as its exceptions keep their names while loading, so that
    // what each one lifts can be counted once all are loaded (resolve_exceptions).
    for (const auto& kv : n)
      if (kv.second.IsMap() && kv.second["exceptions"])
        for (const auto& item : items(kv.second["exceptions"]))
          if (item.IsScalar()) exception_lists_.insert(item.Scalar());
    for (const auto& kv : n) {
      const std::string name = kv.first.as<std::string>();
      const YAML::Node& l = kv.second;
      const std::string where = "list '" + name + "'";
      if (is_override_list(name)) {
        r_.error_at(kv.first, fmt::format("{}: the name is reserved for the local overrides "
                                          "(sinkholectl block/unblock)",
                                          where));
        continue;
      }
      if (!seen.insert(name).second) {
        r_.error_at(kv.first, fmt::format("{} defined twice", where));
        continue;
      }
      if (!r_.check_keys(l, config::schema::keys_of("lists.<name>"), where)) continue;
      ListLimits limits = list_defaults_;
      read_list_limits(r_, l, where, /*per_list=*/true, limits);
      ListData data;
      data.name = name;
      // A candidate to stage is read beside the version serving, which is built as if
      // there were no candidate (stage_candidate).
      std::string to_stage;
      if (options_.stage_candidates.count(name)) {
        const auto c = options_.candidates.find(name);
        if (c != options_.candidates.end()) to_stage = c->second;
      }
      // A feed's build: the list as it serves (its source too: a TSIG key file is not
      // read again), unless it has a candidate.
      const ListData* kept = kept_list(name);
      const size_t errors_before = r_.errors().size();
      if (kept)
        data.source = kept->source;
      else
        read_list_source(r_, l, where, base, data.source);
      if (r_.errors().size() != errors_before) continue;
      data.limits = limits;
      if (kept) {
        // keep_list sets the path and the copy.
      } else if (data.source.is_feed()) {
        // A feed list reads the copy its feed saved (or the candidate this build tries);
        // without one yet it is pending: empty, and the build goes on (load_list).
        auto candidate = options_.candidates.find(name);
        if (!to_stage.empty()) candidate = options_.candidates.end();
        if (candidate != options_.candidates.end() && !candidate->second.empty()) {
          data.path = candidate->second;
        } else if (candidate != options_.candidates.end()) {
          // "" — RPZ `on_expire: drop` past the SOA expire: the list stops applying.
          data.path = list_copy_path(
              options_.state_dir.empty() ? config::kDefaultStateDir : options_.state_dir, name,
              kCopyCurrent);
          data.pending = true;
        } else {
          data.path = list_copy_path(
              options_.state_dir.empty() ? config::kDefaultStateDir : options_.state_dir, name,
              kCopyCurrent);
          std::error_code ec;
          data.pending = !std::filesystem::exists(data.path, ec);
        }
      } else {
        auto path = r_.scalar(l["path"], where + ".path");
        if (!path) continue;
        std::filesystem::path p(*path);
        data.path = (p.is_relative() ? base / p : p).lexically_normal().string();
        data.configured_path = data.path;
        choose_file_copy(data);
      }
      // Without `format:` the format is inferred from the file once read (load_list).
      data.format_basis = blocklist::FormatBasis::kContent;
      if (const auto f = l["format"]) {
        data.format_basis = blocklist::FormatBasis::kConfigured;
        auto s = r_.scalar(f, where + ".format");
        if (s && !blocklist::parse_format(*s, data.format)) {
          r_.error_at(f, fmt::format("{}.format: '{}' is not one of domains, hosts, adblock, rpz, "
                                     "patterns",
                                     where, *s));
          continue;
        }
      }
      if (const auto a = l["allow_suffix"]) {
        auto s = r_.scalar(a, where + ".allow_suffix");
        if (s && (*s == "true" || *s == "false"))
          data.allow_suffix = *s == "true";
        else if (s)
          r_.error_at(a, fmt::format("{}.allow_suffix must be true or false", where));
      }
      data.category = name;
      if (const auto c = l["category"])
        if (auto s = r_.scalar(c, where + ".category")) data.category = *s;
      if (const auto a = l["action"]) {
        if (auto s = r_.scalar(a, where + ".action")) {
          auto it = action_index_.find(*s);
          // tcp-only and local-data exist only as RPZ rules' own actions.
          if (it == action_index_.end() || it->second == snap_->tcp_only ||
              it->second == snap_->local_data)
            r_.error_at(a, fmt::format("{}.action: unknown action '{}'", where, *s));
          else
            data.default_action = it->second;
        }
      }
      if (const auto m = l["mandatory"]) {
        auto s = r_.scalar(m, where + ".mandatory");
        if (s && (*s == "true" || *s == "false"))
          data.mandatory = *s == "true";
        else if (s)
          r_.error_at(m, fmt::format("{}.mandatory must be true or false", where));
      }
      // A passthru default would lift the mandatory block for every policy at once.
      if (data.mandatory && data.default_action != kNoAction &&
          snap_->actions[static_cast<size_t>(data.default_action)].kind == ActionKind::kPassthru)
        r_.error_at(
            l["action"],
            fmt::format("{}.action: a mandatory list cannot have a passthru action", where));
      if (const auto e = l["exceptions"]) {
        if (!e.IsSequence() && !e.IsScalar())
          r_.error_at(e, where + ".exceptions must be a list of list names");
        else
          pending_exceptions_.emplace_back(name, YAML::Node(e));
      }
      if (const auto b = l["basis"]) read_legal_basis(r_, b, where, data.basis);
      auto [cat, added] =
          category_ids.emplace(data.category, static_cast<uint16_t>(snap_->categories.size()));
      if (added) snap_->categories.push_back(data.category);
      data.category_id = cat->second;

      if (kept) {
        keep_list(*kept, data);
      } else if (data.pending) {
        load_pending(data);
      } else if (!load_list(l["path"] ? l["path"] : kv.first, data, limits)) {
        failed_lists_.insert(name);
        continue;
      }
      if (!to_stage.empty()) {
        if (!stage_candidate(kv.first, data, limits, to_stage)) {
          failed_lists_.insert(name);
          continue;
        }
      } else if (!kept) {
        load_staged(data, static_cast<bool>(l["format"]));
      }
      list_index_[name] = static_cast<uint16_t>(snap_->lists.size());
      snap_->lists.push_back(std::move(data));
    }
    resolve_exceptions();
  }

  // Every list's `exceptions:` as list ids, and the audit: how many names each exception
  // list lifts from the list that names it (a notice, logged at info, and a metric).
  void resolve_exceptions() {
    for (const auto& [name, node] : pending_exceptions_) {
      const auto self = list_index_.find(name);
      if (self == list_index_.end()) continue;  // failed to load: its error is given
      ListData& list = snap_->lists[self->second];
      const std::string where = "list '" + name + "'.exceptions";
      for (const auto& item : items(node)) {
        const auto e = list_ref(item, where);
        if (!e) continue;
        if (*e == self->second) {
          r_.error_at(item, fmt::format("{}: a list cannot be its own exception list", where));
          continue;
        }
        if (std::find(list.exceptions.begin(), list.exceptions.end(), *e) !=
            list.exceptions.end()) {
          r_.error_at(item, fmt::format("{}: '{}' named twice", where, item.Scalar()));
          continue;
        }
        const ListData& exc = snap_->lists[*e];
        blocklist::PatternScratch scratch;
        if (list.matcher->pattern_count() > 0) scratch.prepare(list.matcher->patterns());
        size_t lifted = 0;
        uint8_t wire[dns::kMaxNameWire];
        for (const auto& entry :
             exc.exception_names ? *exc.exception_names : std::vector<std::string>{}) {
          const size_t len = dns::text_to_wire(entry, wire);
          if (len == 0) continue;
          const auto m = list.matcher->lookup(wire, len, &scratch);
          lifted += m && m->rule.kind == blocklist::RuleKind::kBlock;
        }
        list.exceptions.push_back(*e);
        list.exempted_names.push_back(lifted);
        notices_.push_back(fmt::format("list {}{}: {} name{} lifted by exception list {}", name,
                                       list.mandatory ? " (mandatory)" : "", lifted,
                                       lifted == 1 ? "" : "s", exc.name));
      }
    }
  }

  std::string state_dir() const {
    return options_.state_dir.empty() ? std::string(config::kDefaultStateDir) : options_.state_dir;
  }

  // A file list reads, in this order: this build's candidate (a push being checked), a
  // pushed copy (`current` in the state directory, written by sinkholectl list push) as
  // long as the configured file has not changed since the push, else the configured file.
  void choose_file_copy(ListData& data) {
    if (const auto c = options_.candidates.find(data.name); c != options_.candidates.end()) {
      data.path = c->second;
      data.copy = "candidate";
      return;
    }
    const std::string copy = list_copy_path(state_dir(), data.name, kCopyCurrent);
    const auto meta = util::read_file(copy + ".meta.json", nullptr);
    if (!meta) return;
    const auto j = nlohmann::json::parse(*meta, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("over_file") || !j["over_file"].is_string()) return;
    std::error_code ec;
    if (!std::filesystem::exists(copy, ec)) return;
    if (j["over_file"].get<std::string>() != file_fingerprint(data.configured_path)) {
      superseded_.push_back(data.name);  // the file changed after the push: it wins again
      notices_.push_back(fmt::format("list {}: {} changed after the last push: it serves again",
                                     util::escape_for_log(data.name, 120),
                                     util::escape_for_log(data.configured_path, 240)));
      return;
    }
    data.path = copy;
    data.copy = "pushed";
  }

  // A feed's new version to stage (BuildOptions::stage_candidates): read from `path` and
  // put through the list guard exactly as a candidate to enforce (a refusal fails the
  // build), then kept as `data`'s staged version; `data` stays the version serving. Its
  // tally is keyed by the file's fingerprint, which the move to the `staged` slot keeps,
  // so later builds (load_staged) go on counting into it.
  bool stage_candidate(const YAML::Node& at, ListData& data, const ListLimits& limits,
                       const std::string& path) {
    ListData next;
    next.name = data.name;
    next.source = data.source;
    next.limits = data.limits;
    next.format = data.format;
    next.format_basis = data.format_basis;
    next.path = path;
    if (!load_list(at, next, limits)) return false;
    data.staged = next.matcher;
    data.staged_path = list_copy_path(state_dir(), data.name, kCopyStaged);
    data.staged_entries = next.stats.entries;
    data.staged_tally = std::make_shared<StagedTally>(
        file_fingerprint(path), static_cast<int64_t>(std::time(nullptr)) * 1000);
    snap_->any_staged = true;
    return true;
  }

  // A staged version (sinkholectl list stage): compiled beside the one serving, tallied,
  // never answering. One that does not load is a warning, never a failed build.
  void load_staged(ListData& data, bool format_configured) {
    const std::string path = list_copy_path(state_dir(), data.name, kCopyStaged);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return;
    try {
      blocklist::FormatChoice chosen;
      blocklist::Format format = data.format;
      blocklist::ParsedList parsed =
          blocklist::read_list_file(path, format_configured ? &format : nullptr, nullptr, &chosen);
      blocklist::MatcherBuilder mb;
      const uint16_t id = mb.add(parsed);
      const size_t entries = mb.domain_counts(id).names + parsed.patterns.size();
      if (entries == 0 || entries > data.limits.max_entries) {
        warnings_.push_back(fmt::format("list {}: the staged copy has {} entries: not staged",
                                        util::escape_for_log(data.name, 120), entries));
        return;
      }
      data.staged = mb.build().matcher;
      data.staged_path = path;
      data.staged_entries = entries;
      const std::string key = file_fingerprint(path);
      const auto t = options_.staged_tallies.find(data.name);
      data.staged_tally =
          t != options_.staged_tallies.end() && t->second->key() == key
              ? t->second
              : std::make_shared<StagedTally>(key, static_cast<int64_t>(std::time(nullptr)) * 1000);
      snap_->any_staged = true;
    } catch (const std::exception& e) {
      warnings_.push_back(fmt::format("list {}: the staged copy does not load: {}",
                                      util::escape_for_log(data.name, 120), e.what()));
    }
  }

  // The local overrides (policy/local_overrides.h) as built-in lists, made after the
  // configured ones so that a scope names a loaded list; read_policies puts them in place.
  void add_overrides() {
    const std::string path = list_copy_path(state_dir(), kOverrideList, kCopyCurrent);
    const auto text = util::read_file(path, nullptr);
    if (!text) return;
    std::map<std::string, std::vector<const OverrideEntry*>> blocks, unblocks;  // by scope
    const std::vector<OverrideEntry> entries = parse_overrides(*text);
    for (const auto& e : entries) {
      if (!e.list.empty() && !list_index_.count(e.list)) {
        warnings_.push_back(fmt::format("local override {} {} --list {}: no such list (ignored)",
                                        e.block ? "block" : "unblock", e.name,
                                        util::escape_for_log(e.list, 120)));
        continue;
      }
      (e.block ? blocks : unblocks)[e.list].push_back(&e);
    }
    for (const auto& [scope, es] : blocks) {
      const int32_t action =
          scope.empty() ? kNoAction : snap_->lists[list_index_[scope]].default_action;
      const uint16_t id = add_override_list(
          scope.empty() ? std::string(kOverrideList) : std::string(kOverrideScopedPrefix) + scope,
          path, es, /*mandatory=*/scope.empty(), action);
      if (scope.empty())
        override_block_ = id;
      else
        override_scoped_[list_index_[scope]] = id;
    }
    for (const auto& [scope, es] : unblocks) {
      const uint16_t id =
          add_override_list(scope.empty() ? std::string(kOverrideAllowList)
                                          : std::string(kOverrideExceptPrefix) + scope,
                            path, es, /*mandatory=*/false, kNoAction);
      if (scope.empty()) {
        override_allow_ = id;
      } else {
        ListData& l = snap_->lists[list_index_[scope]];
        l.exceptions.push_back(id);
        l.exempted_names.push_back(es.size());
        notices_.push_back(fmt::format("list {}{}: {} name{} lifted by local override (unblock)",
                                       l.name, l.mandatory ? " (mandatory)" : "", es.size(),
                                       es.size() == 1 ? "" : "s"));
      }
    }
  }

  uint16_t add_override_list(std::string name, const std::string& path,
                             const std::vector<const OverrideEntry*>& es, bool mandatory,
                             int32_t action) {
    ListData data;
    data.name = std::move(name);
    data.path = path;
    data.configured_path = path;
    data.category = "override";
    data.format = blocklist::Format::kDomains;
    data.format_why = "local overrides (sinkholectl block/unblock)";
    data.mandatory = mandatory;
    data.default_action = action;
    data.override_list = true;
    blocklist::MatcherBuilder mb;
    const uint16_t id = mb.begin_list(path, blocklist::Format::kDomains);
    std::vector<blocklist::DomainEntry> v;
    v.reserve(es.size());
    for (const auto* e : es) {
      blocklist::DomainEntry d;
      d.name = e->name;
      d.line = static_cast<uint32_t>(e->line);
      v.push_back(std::move(d));
    }
    mb.add_domains(id, v, 0);
    data.stats.entries = mb.domain_counts(id).names;
    data.stats.rules = mb.domain_counts(id).rules;
    data.matcher = mb.build().matcher;
    data.loaded_unix = static_cast<int64_t>(std::time(nullptr));
    const auto cat = std::find(snap_->categories.begin(), snap_->categories.end(), "override");
    data.category_id = static_cast<uint16_t>(cat - snap_->categories.begin());
    if (cat == snap_->categories.end()) snap_->categories.push_back("override");
    const auto index = static_cast<uint16_t>(snap_->lists.size());
    list_index_[data.name] = index;
    snap_->lists.push_back(std::move(data));
    return index;
  }

  // The override lists in a policy: the global block first, then each scoped block before
  // the rules of its list's policies; the global unblocks among the allow lists.
  void apply_overrides(Policy& pol) {
    std::vector<BlockRule> front;
    if (override_block_ >= 0)
      front.push_back(BlockRule{static_cast<uint16_t>(override_block_), kNoAction});
    std::set<uint16_t> scoped;
    for (const auto& r : pol.block)
      if (const auto it = override_scoped_.find(r.list);
          it != override_scoped_.end() && scoped.insert(it->second).second)
        front.push_back(BlockRule{it->second, r.action});
    if (!front.empty()) pol.block.insert(pol.block.begin(), front.begin(), front.end());
    if (override_block_ >= 0) pol.has_mandatory = true;
    if (override_allow_ >= 0) pol.allow.push_back(static_cast<uint16_t>(override_allow_));
  }

  // A feed list with no copy saved yet (first start, the primary or URL not reached yet):
  // empty, named in a warning, and the build goes on — it cannot be a reason to keep the
  // other lists from serving. Its feed publishes the first copy through a rebuild.
  void load_pending(ListData& data) {
    blocklist::MatcherBuilder mb;
    mb.begin_list(data.path, data.format);
    data.matcher = mb.build().matcher;
    data.loaded_unix = static_cast<int64_t>(std::time(nullptr));
    warnings_.push_back(fmt::format("list {}: no copy yet — waiting for its first {} transfer",
                                    util::escape_for_log(data.name, 120),
                                    source_name(data.source.kind)));
  }

  // Reads one list into `data`: reused from the serving snapshot when its bytes and build
  // settings are unchanged (reuse_list), else compiled and put through the list guard
  // (compile_list). An unreadable or refused list is an error at the list's path node;
  // false when it failed.
  bool load_list(const YAML::Node& at, ListData& data, const ListLimits& limits) {
    const std::string label = list_label(data.name, data.path);
    auto fail = [&](const char* reason, std::string message) {
      message += " — refusing to publish";
      refusals_.push_back(ListRefusal{data.name, reason, message});
      r_.error_at(at, message);
      return false;
    };
    // Refused before opening: a FIFO, device or directory is never read (a FIFO would
    // block the build, and every later reload and the shutdown with it).
    struct stat st {};
    if (::stat(data.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      return fail(refusal::kNotRegular,
                  fmt::format("{}: not a regular file ({})", label, util::file_kind(st.st_mode)));
    // The whole file is read into memory first: one far larger than max_entries could
    // fill (kMaxBytesPerEntry each) is refused before a byte of it is read.
    if (const double bound = static_cast<double>(limits.max_entries) * kMaxBytesPerEntry;
        static_cast<double>(st.st_size) > bound)
      return fail(refusal::kMaxEntries,
                  fmt::format("{}: a file of {} bytes is more than max_entries {} entries could "
                              "fill ({} bytes each)",
                              label, st.st_size, limits.max_entries, kMaxBytesPerEntry));
    try {
      std::string error;
      std::optional<std::string> text = util::read_regular_file(data.path, &error);
      if (!text)
        return fail(error.find("not a regular file") != std::string::npos ? refusal::kNotRegular
                                                                          : refusal::kUnreadable,
                    fmt::format("{}: cannot read file: {}", label, error));
      if (::stat(data.path.c_str(), &st) == 0)
        data.file_mtime_unix = static_cast<int64_t>(st.st_mtime);
      const bool keep_names = exception_lists_.count(data.name) > 0;
      data.content_hash = blocklist::content_hash(*text);
      // Everything besides the bytes that the compiled list depends on: the path (format
      // inference reads its extension; messages name it), the configured format or none,
      // the entry bound, and whether its names are kept for another list's exceptions.
      const char format = data.format_basis == blocklist::FormatBasis::kConfigured
                              ? static_cast<char>('0' + static_cast<int>(data.format))
                              : 'i';
      const std::string max_entries = std::to_string(limits.max_entries);
      const uint64_t hash = data.content_hash;
      // A feed list is read from a candidate copy, then from `current` once promoted: the
      // same bytes under another path are the same list (its name and source decide).
      const std::string where_from = data.source.is_feed() ? "feed:" + data.name : data.path;
      data.build_key = blocklist::content_hash(
          {std::string_view(reinterpret_cast<const char*>(&hash), sizeof hash), where_from,
           std::string_view(&format, 1), max_entries, keep_names ? "names" : "",
           data.allow_suffix ? "allow_suffix" : ""});
      bool ok = true;
      std::string forced;
      if (const ListData* old = serving_list(data.name); old && old->build_key == data.build_key &&
                                                         old->matcher &&
                                                         (!keep_names || old->exception_names)) {
        text.reset();
        reuse_list(*old, data);
      } else {
        ok = compile_list(at, data, limits, std::move(*text), keep_names, fail, &forced);
      }
      if (!ok) return false;
      warnings_.insert(warnings_.end(), data.load_warnings.begin(), data.load_warnings.end());
      details_.insert(details_.end(), data.load_details.begin(), data.load_details.end());
      if (!forced.empty()) warnings_.push_back(std::move(forced));
      return true;
    } catch (const std::bad_alloc&) {
      return fail(refusal::kOutOfMemory, fmt::format("{}: out of memory while loading", label));
    } catch (const std::exception& e) {
      return fail(refusal::kError,
                  fmt::format("{}: {}", label, util::escape_for_log(e.what(), 240)));
    }
  }

  // The list of that name in the snapshot serving (BuildOptions::serving), or null.
  const ListData* serving_list(const std::string& name) {
    if (!options_.serving) return nullptr;
    if (!serving_indexed_) {
      for (const auto& l : options_.serving->lists) serving_lists_.emplace(l.name, &l);
      serving_indexed_ = true;
    }
    const auto it = serving_lists_.find(name);
    return it == serving_lists_.end() ? nullptr : it->second;
  }

  // A feed's build (BuildOptions::feeds_only): the serving version of a list without a
  // candidate, taken as it is; null for a list to read (a candidate, or a feed list still
  // waiting for its first copy, which its feed's current copy may end).
  const ListData* kept_list(const std::string& name) {
    if (!options_.feeds_only ||
        (options_.candidates.count(name) && !options_.stage_candidates.count(name)))
      return nullptr;
    const ListData* old = serving_list(name);
    if (!old || old->override_list || (old->source.is_feed() && old->pending)) return nullptr;
    return old;
  }

  // A list of the snapshot serving, unread (a feed's build): what reuse_list takes, plus
  // where it was read from and its staged version. A copy that was a candidate when the
  // serving build read it has been promoted since: it is `current` now.
  void keep_list(const ListData& old, ListData& data) {
    reuse_list(old, data);
    data.path = old.path;
    data.configured_path = old.configured_path;
    data.copy = old.copy;
    if (old.source.is_feed() && !old.pending) {
      data.path = list_copy_path(state_dir(), data.name, kCopyCurrent);
      data.copy.clear();
    } else if (old.copy == "candidate") {
      data.path = list_copy_path(state_dir(), data.name, kCopyCurrent);
      data.copy = "pushed";
    }
    data.pending = old.pending;
    data.content_hash = old.content_hash;
    data.build_key = old.build_key;
    data.file_mtime_unix = old.file_mtime_unix;
    data.staged = old.staged;
    data.staged_path = old.staged_path;
    data.staged_entries = old.staged_entries;
    data.staged_tally = old.staged_tally;
    if (data.staged) snap_->any_staged = true;
    warnings_.insert(warnings_.end(), data.load_warnings.begin(), data.load_warnings.end());
    details_.insert(details_.end(), data.load_details.begin(), data.load_details.end());
  }

  // An unchanged list: everything derived from its content comes from the version serving
  // (it passed the list guard when it was compiled). The matcher is shared, not copied.
  void reuse_list(const ListData& old, ListData& data) {
    data.format = old.format;
    data.format_basis = old.format_basis;
    data.format_why = old.format_why;
    data.matcher = old.matcher;
    data.stats = old.stats;
    data.local = old.local;
    data.ip_triggers = old.ip_triggers;
    data.loaded_unix = old.loaded_unix;
    data.load_warnings = old.load_warnings;
    data.load_details = old.load_details;
    data.exception_names = old.exception_names;
    data.reused = true;
    ++reused_;
  }

  // Compiles `text` (the list's bytes, consumed) into `data`, then the list guard.
  template <typename Fail>
  bool compile_list(const YAML::Node& at, ListData& data, const ListLimits& limits,
                    std::string text, bool keep_names, Fail& fail, std::string* forced) {
    const std::string label = list_label(data.name, data.path);
    ++rebuilt_;
    // Entries stream into the matcher builder as they are read, so a 1M-name list never
    // exists as a million DomainEntry objects beside the table (load time and reload
    // memory).
    blocklist::MatcherBuilder mb;
    const uint16_t id = mb.begin_list(data.path, data.format);
    std::vector<std::string> names;
    MatcherFeed feed(mb, id, data.local, limits.max_entries, keep_names ? &names : nullptr);
    const bool configured = data.format_basis == blocklist::FormatBasis::kConfigured;
    blocklist::FormatChoice chosen;
    if (configured)
      chosen.format = data.format;
    else
      chosen = blocklist::infer_format(text, data.path);
    blocklist::ParsedList parsed = blocklist::parse_list(text, chosen.format, data.path, &feed);
    std::string().swap(text);  // the bytes are not needed to build the table: free them first
    data.format = chosen.format;
    data.format_basis = chosen.basis;
    data.format_why = std::move(chosen.why);
    mb.set_format(id, data.format);
    data.loaded_unix = static_cast<int64_t>(std::time(nullptr));
    if (!parsed.stats.rejects.empty() && parsed.stats.rejects.front().line == 0)
      return fail(refusal::kUnreadable,
                  fmt::format("{}: {}", label, parsed.stats.rejects.front().reason));
    const size_t read = feed.fed() + parsed.patterns.size() + parsed.ip_triggers.size();
    if (feed.over() || read > limits.max_entries)
      return fail(refusal::kMaxEntries,
                  fmt::format("{}: more than max_entries {} entries ({} read)", label,
                              limits.max_entries, read));
    // The first rejects, each with its line; a list of garbage does not turn into a
    // million warnings (the count is in the list's stats and the guard's message).
    constexpr size_t kMaxRejectWarnings = 100;
    const std::string shown_path = util::escape_for_log(data.path, 240);
    const auto& rejects = parsed.stats.rejects;
    for (size_t i = 0; i < rejects.size() && i < kMaxRejectWarnings; ++i)
      data.load_details.push_back(
          fmt::format("{}:{}: {} (line skipped)", shown_path, rejects[i].line, rejects[i].reason));
    if (rejects.size() > kMaxRejectWarnings)
      data.load_details.push_back(fmt::format("{}: {} more rejected lines", shown_path,
                                              rejects.size() - kMaxRejectWarnings));
    mb.add_patterns(id, parsed.patterns);
    const auto& counts = mb.domain_counts(id);
    parsed.stats.entries += counts.names;
    parsed.stats.rules += counts.rules;
    parsed.stats.duplicates += counts.duplicates;
    // RPZ IP triggers count as entries (the list guard's empty and shrink checks).
    data.ip_triggers =
        RpzIpTriggers::build(parsed.ip_triggers, data.local, parsed.stats.duplicates);
    if (data.ip_triggers) {
      parsed.stats.entries += data.ip_triggers->size();
      parsed.stats.rules += data.ip_triggers->size();
    }
    auto built = mb.build();
    for (const auto& e : built.pattern_errors)
      data.load_details.push_back(util::escape_for_log(e.to_string(), 240) + " (rule skipped)");
    // One line a list, ahead of the details, so that a capped log still names every list.
    if (const size_t n = rejects.size() + built.pattern_errors.size(); n > 0) {
      const uint32_t first =
          rejects.empty() ? built.pattern_errors.front().line
          : built.pattern_errors.empty()
              ? rejects.front().line
              : std::min(rejects.front().line, built.pattern_errors.front().line);
      // A list read in the wrong format is mostly rejects: say which format was used.
      const std::string how =
          configured ? "" : ", read as " + blocklist::format_label(data.format, data.format_basis);
      data.load_warnings.push_back(fmt::format("list {}: {} line{} rejected (first at {}:{}){}",
                                               util::escape_for_log(data.name, 120), n,
                                               n == 1 ? "" : "s", shown_path, first, how));
    }
    data.matcher = std::move(built.matcher);
    data.stats = std::move(parsed.stats);
    if (keep_names)
      data.exception_names = std::make_shared<const std::vector<std::string>>(std::move(names));
    const ListFigures figures{data.name,
                              data.path,
                              data.stats.lines,
                              data.stats.entries,
                              data.stats.rules + data.stats.duplicates,
                              data.stats.rejects.size() + built.pattern_errors.size()};
    const auto it = options_.serving_entries.find(data.name);
    const auto serving =
        it == options_.serving_entries.end() ? std::nullopt : std::optional<size_t>(it->second);
    if (auto refused = check_list(figures, limits, serving)) {
      if (!options_.force) {
        refused->message +=
            " — refusing to publish (sinkholectl reload --force publishes it anyway)";
        r_.error_at(at, refused->message);
        refusals_.push_back(std::move(*refused));
        return false;
      }
      *forced = refused->message + " — published anyway (--force)";  // this build only
    }
    return true;
  }

  std::optional<uint16_t> list_ref(const YAML::Node& n, const std::string& where) {
    auto s = r_.scalar(n, where);
    if (!s) return std::nullopt;
    auto it = list_index_.find(*s);
    if (it == list_index_.end()) {
      // A list that failed to load already has its error; "unknown list" would be noise.
      if (!failed_lists_.count(*s)) r_.error_at(n, fmt::format("{}: unknown list '{}'", where, *s));
      return std::nullopt;
    }
    return it->second;
  }

  void read_policies(const YAML::Node& n) {
    if (!n.IsSequence()) return r_.error_at(n, "policies must be a list");
    ClientGroups::Builder groups;
    bool any_v4 = false, any_v6 = false;  // 0.0.0.0/0, ::/0 among the clients
    for (const auto& p : n) {
      if (!p.IsMap()) {
        r_.error_at(p, "a policy must be a mapping (name, clients, allow, block)");
        continue;
      }
      Policy pol;
      if (!p["name"]) {
        r_.error_at(p, "a policy needs a name");
        continue;
      }
      if (auto s = r_.scalar(p["name"], "policy name")) pol.name = *s;
      const std::string where = "policy '" + pol.name + "'";
      if (!r_.check_keys(p, config::schema::keys_of("policies[]"), where)) continue;
      if (policy_index_.count(pol.name)) {
        r_.error_at(p["name"], fmt::format("{} defined twice", where));
        continue;
      }
      const auto index = static_cast<uint32_t>(snap_->policies.size());
      if (const auto c = p["clients"]) {
        if (!c.IsSequence()) {
          r_.error_at(c, where + ".clients must be a list of CIDRs");
        } else {
          for (const auto& item : c) {
            auto s = r_.scalar(item, where + ".clients");
            if (!s) continue;
            std::string err;
            auto cidr = parse_cidr(*s, &err);
            if (!cidr) {
              r_.error_at(item, fmt::format("{}.clients: '{}': {}", where, *s, err));
              continue;
            }
            const std::string key = to_string(*cidr);
            if (auto owner = cidr_owner_.find(key);
                owner != cidr_owner_.end() && owner->second != pol.name) {
              r_.error_at(item, fmt::format("{}.clients: '{}' is already a client of policy '{}'",
                                            where, *s, owner->second));
              continue;
            }
            if (!groups.add(*cidr, index, &err)) {
              r_.error_at(item, fmt::format("{}.clients: '{}': {}", where, *s, err));
            } else {
              cidr_owner_.emplace(key, pol.name);
              pol.clients.push_back(key);
              if (cidr->prefix == 0) (cidr->family == AF_INET ? any_v4 : any_v6) = true;
            }
          }
        }
      }
      if (const auto a = p["allow"]) {
        if (!a.IsSequence())
          r_.error_at(a, where + ".allow must be a list of list names");
        else
          for (const auto& item : a) {
            auto l = list_ref(item, where + ".allow");
            if (l && snap_->lists[*l].mandatory)
              r_.error_at(item, fmt::format("{}.allow: list '{}' is mandatory: no allow list can "
                                            "lift it (name an exception list in its exceptions)",
                                            where, item.Scalar()));
            else if (l)
              pol.allow.push_back(*l);
          }
      }
      if (const auto b = p["block"]) {
        if (!b.IsSequence()) {
          r_.error_at(b, where + ".block must be a list of {list, action}");
        } else {
          for (const auto& item : b) {
            BlockRule rule;
            // reset(), not operator=: assigning a yaml-cpp Node overwrites the node it
            // refers to (here: the block entry itself).
            YAML::Node list_node;
            list_node.reset(item);
            if (item.IsMap()) {
              if (!r_.check_keys(item, config::schema::keys_of("policies[].block[]"),
                                 where + ".block"))
                continue;
              if (!item["list"]) {
                r_.error_at(item, where + ".block: an entry needs a list");
                continue;
              }
              list_node.reset(item["list"]);
              if (const auto an = item["action"]) {
                if (auto s = r_.scalar(an, where + ".block.action")) {
                  auto it = action_index_.find(*s);
                  if (it == action_index_.end() || it->second == snap_->tcp_only ||
                      it->second == snap_->local_data)
                    r_.error_at(an, fmt::format("{}.block: unknown action '{}'", where, *s));
                  else
                    rule.action = it->second;
                }
              }
            }
            if (auto l = list_ref(list_node, where + ".block.list")) {
              rule.list = *l;
              if (snap_->lists[*l].mandatory) {
                if (rule.action != kNoAction &&
                    snap_->actions[static_cast<size_t>(rule.action)].kind ==
                        ActionKind::kPassthru) {
                  r_.error_at(item["action"],
                              fmt::format("{}.block: list '{}' is mandatory: a passthru action "
                                          "would lift it",
                                          where, snap_->lists[*l].name));
                  continue;
                }
                pol.has_mandatory = true;
              }
              if (const auto& t = snap_->lists[*l].ip_triggers) {
                pol.has_client_ip = pol.has_client_ip || t->has_client();
                if (t->has_answer() && pol.first_answer_ip == Policy::kNoAnswerIp) {
                  pol.first_answer_ip = static_cast<uint16_t>(pol.block.size());
                  snap_->any_answer_ip = true;
                }
              }
              pol.block.push_back(rule);
            }
          }
        }
      }
      apply_overrides(pol);
      policy_index_[pol.name] = static_cast<int32_t>(index);
      snap_->policies.push_back(std::move(pol));
    }
    snap_->groups = groups.build();
    snap_->every_client_in_a_policy = any_v4 && any_v6;
  }

  YamlReader r_;
  std::string path_;
  const BuildOptions& options_;
  ListLimits list_defaults_;
  std::vector<ListRefusal> refusals_;
  std::shared_ptr<PolicySnapshot> snap_;
  std::map<std::string, uint16_t> action_index_;
  std::map<std::string, uint16_t> list_index_;
  std::set<std::string> failed_lists_;   // defined, but not loaded (error already given)
  std::vector<std::string> superseded_;  // BuildResult::superseded_pushes
  // The override lists (add_overrides): ids, -1 when absent; scoped blocks by scope list.
  int32_t override_block_ = -1;
  int32_t override_allow_ = -1;
  std::map<uint16_t, uint16_t> override_scoped_;
  std::map<std::string, int32_t> policy_index_;
  std::map<std::string, std::string> cidr_owner_;  // "10.0.0.0/8" → policy name
  std::vector<std::string> warnings_;
  std::vector<std::string> notices_;
  // List name → its `exceptions:` node, resolved once every list is loaded.
  std::vector<std::pair<std::string, YAML::Node>> pending_exceptions_;
  // The lists some list names in `exceptions:`: they keep their block entries' names.
  std::set<std::string> exception_lists_;
  // The serving snapshot's lists by name (per-list rebuilds), filled on first use.
  std::map<std::string, const ListData*> serving_lists_;
  bool serving_indexed_ = false;
  size_t rebuilt_ = 0, reused_ = 0;
  std::vector<std::string> details_;
};

}  // namespace

std::map<std::string, std::shared_ptr<StagedTally>> staged_tallies(const PolicySnapshot& snap) {
  std::map<std::string, std::shared_ptr<StagedTally>> out;
  for (const auto& l : snap.lists)
    if (l.staged_tally) out.emplace(l.name, l.staged_tally);
  return out;
}

std::map<std::string, size_t> entries_by_list(const PolicySnapshot& snap) {
  std::map<std::string, size_t> out;
  for (const auto& l : snap.lists) out[l.name] = l.stats.entries;
  return out;
}

BuildResult build_snapshot(const config::Document& doc, uint64_t generation,
                           metrics::BlockStats* stats, const BuildOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  BuildResult r;
  try {
    Builder b(doc.path, generation, options);
    b.set_config_text(doc.text);
    b.read(doc.root);
    return b.result(t0, stats);
  } catch (const YAML::Exception& e) {
    r.errors.push_back(
        fmt::format("{}:{}:{}: {}", doc.path, e.mark.line + 1, e.mark.column + 1, e.msg));
  } catch (const std::bad_alloc&) {
    r.errors.push_back(fmt::format("{}: out of memory while building the policy", doc.path));
  } catch (const std::exception& e) {
    r.errors.push_back(fmt::format("{}: building the policy failed: {}", doc.path,
                                   util::escape_for_log(e.what(), 240)));
  }
  return r;
}

namespace {

// The whole file is validated before the policy part is built, not only that part: a typo
// in a top-level key (`polices:`) must fail the build, not silently drop every policy.
BuildResult validate_and_build(const config::DocumentResult& doc, uint64_t generation,
                               metrics::BlockStats* stats, const BuildOptions& options) {
  BuildResult r;
  if (!doc.document) {
    r.errors = doc.errors;
    return r;
  }
  config::LoadResult base = config::parse_config(*doc.document);
  if (!base.config) {
    r.errors = base.errors;
    return r;
  }
  BuildOptions with_dir = options;
  if (with_dir.state_dir.empty()) with_dir.state_dir = base.config->server.state_dir;
  r = build_snapshot(*doc.document, generation, stats, with_dir);
  add_semantic_checks(r, *doc.document, *base.config);
  if (r.snapshot) r.config = std::make_shared<const config::Config>(std::move(*base.config));
  return r;
}

}  // namespace

BuildResult build_snapshot(std::string_view yaml, const std::string& path, uint64_t generation,
                           metrics::BlockStats* stats, const BuildOptions& options) {
  return validate_and_build(config::parse_document(yaml, path), generation, stats, options);
}

BuildResult build_snapshot_from_file(const std::string& path, uint64_t generation,
                                     metrics::BlockStats* stats, const BuildOptions& options) {
  return validate_and_build(config::load_document(path), generation, stats, options);
}

BuildResult build_feed_snapshot(uint64_t generation, metrics::BlockStats* stats,
                                const BuildOptions& options) {
  if (!options.serving || !options.serving->config_text) {
    BuildResult r;
    r.errors.push_back("a feed's build needs the snapshot serving and its configuration text");
    return r;
  }
  BuildOptions feeds = options;
  feeds.feeds_only = true;
  return validate_and_build(
      config::parse_document(*options.serving->config_text, options.serving->config_path),
      generation, stats, feeds);
}

}  // namespace sinkhole::policy
