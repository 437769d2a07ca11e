// SPDX-License-Identifier: MIT
#include "resolver/observe/status_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include "resolver/metrics/worker_counters.h"
#include "resolver/observe/explain_report.h"
#include "resolver/observe/upstream_report.h"

namespace sinkhole::observe {

namespace {

uint64_t get(const Counters& counters, std::string_view name) {
  for (const auto& [k, v] : counters)
    if (k == name) return v;
  return 0;
}

size_t total_entries(const policy::PolicySnapshot& snap) {
  size_t entries = 0;
  for (const auto& l : snap.lists) entries += l.stats.entries;
  return entries;
}

// "12 s ago", or "never" for 0.
std::string ago(int64_t ms, int64_t now_unix) {
  if (ms <= 0) return "never";
  return fmt::format("{} s ago", std::max<int64_t>(0, now_unix - ms / 1000));
}

std::optional<feeds::ListFeedState> feed_state(const ServerState& s, const std::string& list) {
  return s.feeds ? s.feeds->get(list) : std::nullopt;
}

// The list's source on one line: where its content comes from, the version serving, the
// last attempt, success and error, and the last change's time to enforce.
std::string freshness_text(const feeds::ListFeedState& f, int64_t now_unix) {
  std::string out = fmt::format("    source {}", f.source.empty() ? "file" : f.source);
  if (!f.origin.empty()) out += " " + f.origin;
  if (!f.version.empty()) out += ", " + f.version;
  if (!f.staged_version.empty())
    out += ", staged " + f.staged_version + " (waits for sinkholectl list promote)";
  out += fmt::format(", last attempt {}, last success {}", ago(f.last_attempt_ms, now_unix),
                     ago(f.last_success_ms, now_unix));
  if (f.seen_ms > 0 && f.enforced_ms >= f.seen_ms)
    out += fmt::format(", time to enforce {:.3f} s", (f.enforced_ms - f.seen_ms) / 1000.0);
  if (!f.state.empty() && f.state != "ok") out += ", " + f.state;
  if (!f.last_error.empty()) out += ", last error: " + f.last_error;
  return out + "\n";
}

nlohmann::ordered_json freshness_json(const std::optional<feeds::ListFeedState>& f) {
  using J = nlohmann::ordered_json;
  if (!f)
    return {{"source", "file"},
            {"origin", nullptr},
            {"version", nullptr},
            {"staged_version", nullptr},
            {"serial", nullptr},
            {"last_attempt_unix_ms", nullptr},
            {"last_success_unix_ms", nullptr},
            {"last_error", ""},
            {"time_to_enforce_s", nullptr},
            {"state", nullptr}};
  const auto ms = [](int64_t v) { return v > 0 ? J(v) : J(nullptr); };
  return {{"source", f->source.empty() ? "file" : f->source},
          {"origin", f->origin},
          {"version", f->version},
          {"staged_version", f->staged_version.empty() ? J(nullptr) : J(f->staged_version)},
          {"serial", f->serial ? J(*f->serial) : J(nullptr)},
          {"last_attempt_unix_ms", ms(f->last_attempt_ms)},
          {"last_success_unix_ms", ms(f->last_success_ms)},
          {"last_error", f->last_error},
          {"time_to_enforce_s", f->seen_ms > 0 && f->enforced_ms >= f->seen_ms
                                    ? J((f->enforced_ms - f->seen_ms) / 1000.0)
                                    : J(nullptr)},
          {"state", f->state}};
}

}  // namespace

nlohmann::ordered_json refused_lists_json(const ReloadStatus& r) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& f : r.last_list_failures())
    out.push_back({{"list", f.list}, {"reason", f.reason}, {"message", f.message}});
  return out;
}

std::string warnings_text(const std::vector<std::string>& warnings) {
  if (warnings.empty()) return "";
  constexpr size_t kShown = 20;
  std::string out = fmt::format("warnings: {}\n", warnings.size());
  for (size_t i = 0; i < warnings.size() && i < kShown; ++i) out += "  " + warnings[i] + "\n";
  if (warnings.size() > kShown)
    out += fmt::format("  ... {} more (--json lists them all)\n", warnings.size() - kShown);
  return out;
}

Counters server_counters(const ServerState& s) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *s.workers) all.push_back(&w->counters());
  auto values = metrics::sum(all);
  values.emplace_back("reloads", s.reloads->reloads());
  values.emplace_back("reload_failures", s.reloads->failures());
  values.emplace_back("snapshot_generation", s.holder->generation());
  return values;
}

nlohmann::ordered_json counters_json(const Counters& counters) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, v] : counters) j[name] = v;
  return j;
}

std::string status_text(const ServerState& s, int64_t now_unix) {
  const auto snap = s.holder->current();
  const auto counters = server_counters(s);
  const ReloadStatus& r = *s.reloads;
  std::string out = fmt::format(
      "sinkholed running for {} s, {} worker(s)\n"
      "policy generation {} ({} list(s), {} entries, {} polic{})\n"
      "reloads {} ok, {} failed; last reload {:.3f} s\n",
      now_unix - s.started_unix, s.workers->size(), snap->generation, snap->lists.size(),
      total_entries(*snap), snap->policies.size(), snap->policies.size() == 1 ? "y" : "ies",
      r.reloads(), r.failures(), r.last_seconds());
  if (const std::string error = r.last_error(); !error.empty()) {
    out += "last reload FAILED (old policy still serving): " + error + "\n";
    for (const auto& f : r.last_list_failures())
      out += fmt::format("  refused {} ({}): {}\n", f.list, f.reason, f.message);
  }
  out += warnings_text(r.warnings());
  if (const auto restart = r.restart_required(); !restart.empty()) {
    std::string keys;
    for (const auto& k : restart) keys += (keys.empty() ? "" : ", ") + k;
    out += "restart required: " + keys + " (changed in the file; a reload does not apply them)\n";
  }
  for (const auto& l : snap->lists)
    out += fmt::format("  list {:<20} {:<12} {:>9} entries {:>5} rejected lines\n", l.name,
                       l.category, l.stats.entries, l.stats.rejects.size());
  out += fmt::format("queries {} udp / {} tcp, blocked {}, refused (no policy) {}, servfail {}\n",
                     get(counters, "queries_udp"), get(counters, "queries_tcp"),
                     get(counters, "blocked"), get(counters, "refused_no_policy"),
                     get(counters, "answers_servfail"));
  out += "upstreams:\n";
  const std::string ups = upstreams_text(s, now_unix);
  for (size_t at = 0; at < ups.size();) {
    const size_t nl = ups.find('\n', at);
    const size_t end = nl == std::string::npos ? ups.size() : nl + 1;
    out += "  " + ups.substr(at, end - at);
    at = end;
  }
  return out;
}

nlohmann::ordered_json status_json(const ServerState& s, int64_t now_unix) {
  const auto snap = s.holder->current();
  const ReloadStatus& r = *s.reloads;
  nlohmann::ordered_json lists = nlohmann::ordered_json::array();
  for (const auto& l : snap->lists)
    lists.push_back({{"name", l.name},
                     {"category", l.category},
                     {"entries", l.stats.entries},
                     {"rejected", l.stats.rejects.size()}});
  return {{"status", "running"},
          {"uptime_s", now_unix - s.started_unix},
          {"workers", s.workers->size()},
          {"generation", snap->generation},
          {"reloads", r.reloads()},
          {"reload_failures", r.failures()},
          {"last_reload_s", std::round(r.last_seconds() * 1000) / 1000},
          {"last_reload_unix", r.last_success_unix()},
          {"last_reload_error", r.last_error()},
          {"last_reload_refused_lists", refused_lists_json(r)},
          {"warnings", r.warnings()},
          {"restart_required", r.restart_required()},
          {"lists", std::move(lists)},
          {"entries", total_entries(*snap)},
          {"policies", snap->policies.size()},
          {"upstreams", upstreams_json(s, now_unix)},
          {"counters", counters_json(server_counters(s))}};
}

std::string lists_text(const ServerState& s, int64_t now_unix) {
  const auto snap = s.holder->current();
  if (snap->lists.empty()) return "no lists configured\n";
  std::string out;
  // "hosts (inferred from content)" when a list has no format: key: as wide as the widest.
  size_t width = 8;
  for (const auto& l : snap->lists)
    width = std::max(width, blocklist::format_label(l.format, l.format_basis).size());
  for (const auto& l : snap->lists) {
    out +=
        fmt::format("{:<20} {:<14} {:<{}} {:>9} entries {:>6} rejected  age {:>7} s  {}", l.name,
                    l.category, blocklist::format_label(l.format, l.format_basis), width,
                    l.stats.entries, l.stats.rejects.size(), now_unix - l.file_mtime_unix, l.path);
    if (l.mandatory) out += "  mandatory";
    for (size_t i = 0; i < l.exceptions.size(); ++i)
      out += fmt::format("  exceptions {} ({} lifted)", snap->lists[l.exceptions[i]].name,
                         l.exempted_names[i]);
    if (!l.basis.empty()) out += "  basis: " + basis_text(l.basis);
    out += "\n";
    if (const auto f = feed_state(s, l.name)) out += freshness_text(*f, now_unix);
  }
  return out;
}

nlohmann::ordered_json lists_json(const ServerState& s, int64_t now_unix) {
  const auto snap = s.holder->current();
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& l : snap->lists) {
    nlohmann::ordered_json exceptions = nlohmann::ordered_json::array();
    for (size_t i = 0; i < l.exceptions.size(); ++i)
      exceptions.push_back(
          {{"list", snap->lists[l.exceptions[i]].name}, {"lifted", l.exempted_names[i]}});
    out.push_back({{"name", l.name},
                   {"category", l.category},
                   {"format", blocklist::to_string(l.format)},
                   {"format_source", blocklist::to_string(l.format_basis)},
                   {"format_reason", l.format_why},
                   {"path", l.path},
                   {"entries", l.stats.entries},
                   {"rules", l.stats.rules},
                   {"rejected", l.stats.rejects.size()},
                   {"age_s", now_unix - l.file_mtime_unix},
                   {"loaded_unix", l.loaded_unix},
                   {"generation", snap->generation},
                   {"mandatory", l.mandatory},
                   {"exceptions", std::move(exceptions)},
                   {"basis", basis_json(l.basis)}});
    const nlohmann::ordered_json fresh = freshness_json(feed_state(s, l.name));
    for (const auto& [k, v] : fresh.items()) out.back()[k] = v;
  }
  return out;
}

}  // namespace sinkhole::observe
