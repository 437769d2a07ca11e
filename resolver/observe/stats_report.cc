// SPDX-License-Identifier: MIT
#include "resolver/observe/stats_report.h"

#include <fmt/format.h>

#include <cmath>
#include <string_view>
#include <vector>

#include "resolver/metrics/worker_counters.h"
#include "resolver/observe/status_report.h"

namespace sinkhole::observe {

namespace {

// The workers' table counters only: reloads and the generation belong to `status`.
Counters worker_counters(const ServerState& s) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *s.workers) all.push_back(&w->counters());
  return metrics::sum(all);
}

std::vector<metrics::BlockStats::Row> blocked_rows(const ServerState& s) {
  return s.block_stats ? s.block_stats->rows() : std::vector<metrics::BlockStats::Row>{};
}

std::vector<metrics::BlockStats::Row> monitored_rows(const ServerState& s) {
  return s.block_stats ? s.block_stats->monitored_rows() : std::vector<metrics::BlockStats::Row>{};
}

// Distinct clients with a blocked query, by category: the estimate of each window.
struct UsersRow {
  std::string category;
  metrics::ProtectedUsers::Estimates users;
};
std::vector<UsersRow> protected_users(const ServerState& s, int64_t now_unix) {
  std::vector<UsersRow> out;
  if (!s.block_stats) return out;
  const auto names = s.block_stats->categories();
  for (size_t id = 0; id < names.size(); ++id)
    out.push_back({names[id],
                   s.block_stats->protected_users().estimate(static_cast<uint16_t>(id), now_unix)});
  return out;
}

}  // namespace

std::string stats_text(const ServerState& s, int64_t now_unix) {
  const auto counters = worker_counters(s);
  auto get = [&](std::string_view name) {
    for (const auto& [k, v] : counters)
      if (k == name) return v;
    return uint64_t{0};
  };
  const uint64_t queries = get("queries_udp") + get("queries_tcp");
  std::string out = fmt::format(
      "queries {} ({} udp, {} tcp); blocked {} ({:.1f}%), of which in a CNAME chain {}\n", queries,
      get("queries_udp"), get("queries_tcp"), get("blocked"),
      queries ? 100.0 * static_cast<double>(get("blocked")) / static_cast<double>(queries) : 0.0,
      get("blocked_cname_chain"));
  if (get("blocked_rpz_client_ip") + get("blocked_rpz_ip") > 0)
    out += fmt::format("blocked by RPZ IP triggers: {} rpz-client-ip, {} rpz-ip\n",
                       get("blocked_rpz_client_ip"), get("blocked_rpz_ip"));
  out += fmt::format(
      "answers: noerror {}, nxdomain {}, servfail {}, refused {}; refused (no policy) {}\n",
      get("answers_noerror"), get("answers_nxdomain"), get("answers_servfail"),
      get("answers_refused"), get("refused_no_policy"));
  if (s.cache && s.cache->enabled()) {
    const cache::CacheStats cs = s.cache->stats();
    out += fmt::format("cache: {} hits, {} misses, {} stale; {} entries, {:.1f} MiB\n",
                       get("cache_hits"), get("cache_misses"), get("cache_stale_answers"),
                       cs.entries, static_cast<double>(cs.bytes) / (1 << 20));
  } else {
    out += "cache: off\n";
  }
  out += fmt::format("upstream: {} queries, {} timeouts, {} errors, {} all failed\n",
                     get("upstream_queries"), get("upstream_timeouts"), get("upstream_errors"),
                     get("upstream_all_failed"));
  const auto users = protected_users(s, now_unix);
  if (!users.empty())
    out += "protected users (distinct clients with a blocked query, ~0.8% error):\n";
  for (const auto& u : users)
    out += fmt::format("  {:<20} last hour {:>10.0f}   last day {:>10.0f}\n", u.category,
                       u.users.last_hour, u.users.last_day);
  const auto blocked = blocked_rows(s);
  if (!blocked.empty()) out += "blocked by policy, list, category, action:\n";
  for (const auto& r : blocked)
    out += fmt::format("  {:<16} {:<20} {:<14} {:<16} {:>12}\n", r.policy, r.list, r.category,
                       r.action, r.count);
  const auto monitored = monitored_rows(s);
  if (!monitored.empty())
    out += "monitored (passthru: answered normally) by policy, list, category, action:\n";
  for (const auto& r : monitored)
    out += fmt::format("  {:<16} {:<20} {:<14} {:<16} {:>12}\n", r.policy, r.list, r.category,
                       r.action, r.count);
  return out;
}

nlohmann::ordered_json stats_json(const ServerState& s, int64_t now_unix) {
  auto rows_json = [](const std::vector<metrics::BlockStats::Row>& rows, const char* count) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      out.push_back({{"policy", r.policy},
                     {"list", r.list},
                     {"category", r.category},
                     {"action", r.action},
                     {count, r.count}});
    return out;
  };
  nlohmann::ordered_json blocked = rows_json(blocked_rows(s), "blocked");
  nlohmann::ordered_json monitored = rows_json(monitored_rows(s), "monitored");
  nlohmann::ordered_json users = nlohmann::ordered_json::array();
  // A count of people: whole numbers (the estimate's error is in the text output).
  for (const auto& u : protected_users(s, now_unix))
    users.push_back({{"category", u.category},
                     {"last_hour", std::llround(u.users.last_hour)},
                     {"last_day", std::llround(u.users.last_day)}});
  const cache::CacheStats cs = s.cache ? s.cache->stats() : cache::CacheStats{};
  return {{"counters", counters_json(worker_counters(s))},
          {"blocked", std::move(blocked)},
          {"monitored", std::move(monitored)},
          {"protected_users", std::move(users)},
          {"cache",
           {{"enabled", s.cache != nullptr && s.cache->enabled()},
            {"entries", cs.entries},
            {"bytes", cs.bytes},
            {"inserts", cs.inserts},
            {"evictions", cs.evictions}}}};
}

}  // namespace sinkhole::observe
