// SPDX-License-Identifier: MIT
#include "resolver/observe/metrics_exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <string>

#include "resolver/metrics/catalogue.h"
#include "resolver/metrics/qtype_slots.h"
#include "resolver/observe/health_monitor.h"
#include "sinkhole/version.h"

namespace sinkhole::observe {

namespace cat = metrics::catalogue;
using metrics::Family;
using metrics::MetricType;
using metrics::PrometheusText;

namespace {

// The table counters, summed over workers, grouped into families (catalogue.h).
void table_counters(PrometheusText& out, const ServerState& s) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *s.workers) all.push_back(&w->counters());
  const auto values = metrics::sum(all);
  // Grouped counters first, one family each, in catalogue order.
  for (const auto& g : cat::kCounterGroups) {
    bool started = false;
    for (const auto& [name, v] : values) {
      if (cat::counter_group(name) != &g) continue;
      if (!started) out.family(g.family);
      started = true;
      out.sample(g.family, {{g.label, std::string_view(name).substr(g.prefix.size())}},
                 static_cast<double>(v));
    }
  }
  for (size_t i = 0; i < metrics::kCounterCount; ++i) {
    const auto c = static_cast<metrics::Counter>(i);
    const auto& info = metrics::info(c);
    if (cat::counter_group(info.name)) continue;
    const std::string name = cat::counter_family_name(info.name);
    const Family f{name.c_str(), MetricType::kCounter, info.help};
    out.family(f);
    out.sample(f, static_cast<double>(values[i].second));
  }
}

void queries_by_type(PrometheusText& out, const ServerState& s) {
  out.family(cat::kQueriesByType);
  for (size_t slot = 0; slot < metrics::kQtypeSlotCount; ++slot) {
    uint64_t total = 0;
    for (const auto& w : *s.workers) total += w->counters().qtype_count(slot);
    out.sample(cat::kQueriesByType, {{"qtype", metrics::qtype_slot_name(slot)}},
               static_cast<double>(total));
  }
}

void blocked(PrometheusText& out, const ServerState& s) {
  const std::pair<const Family*,
                  std::vector<metrics::BlockStats::Row> (metrics::BlockStats::*)() const>
      tables[] = {{&cat::kBlocked, &metrics::BlockStats::rows},
                  {&cat::kMonitored, &metrics::BlockStats::monitored_rows}};
  for (const auto& [family, rows] : tables) {
    out.family(*family);
    if (!s.block_stats) continue;
    for (const auto& r : (s.block_stats->*rows)())
      out.sample(
          *family,
          {{"policy", r.policy}, {"list", r.list}, {"category", r.category}, {"action", r.action}},
          static_cast<double>(r.count));
  }
}

void protected_users(PrometheusText& out, const ServerState& s) {
  out.family(cat::kProtectedUsers);
  if (!s.block_stats) return;
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const auto& users = s.block_stats->protected_users();
  const auto names = s.block_stats->categories();
  for (size_t id = 0; id < names.size(); ++id) {
    const auto e = users.estimate(static_cast<uint16_t>(id), now);
    // A count of people: whole numbers (the estimate's error is in the help text).
    out.sample(cat::kProtectedUsers, {{"category", names[id]}, {"window", "1h"}},
               std::round(e.last_hour));
    out.sample(cat::kProtectedUsers, {{"category", names[id]}, {"window", "24h"}},
               std::round(e.last_day));
  }
}

void cache(PrometheusText& out, const ServerState& s) {
  // With the cache off (max_bytes: 0) every gauge is 0: dashboards still find the series.
  const cache::CacheStats st = s.cache ? s.cache->stats() : cache::CacheStats{};
  out.family(cat::kCacheEntries);
  out.sample(cat::kCacheEntries, static_cast<double>(st.entries));
  out.family(cat::kCacheBytes);
  out.sample(cat::kCacheBytes, static_cast<double>(st.bytes));
  out.family(cat::kCacheMaxBytes);
  out.sample(cat::kCacheMaxBytes,
             s.cache ? static_cast<double>(s.cache->options().max_bytes) : 0.0);
  out.family(cat::kCacheInserts);
  out.sample(cat::kCacheInserts, static_cast<double>(st.inserts));
  out.family(cat::kCacheEvictions);
  out.sample(cat::kCacheEvictions, static_cast<double>(st.evictions));
}

void upstreams(PrometheusText& out, const ServerState& s) {
  // Every upstream that ever had a row (a reload may have removed some: their counters
  // stay), in row order, which is the workers' UpstreamStats order.
  const std::vector<config::SocketAddress> servers =
      s.upstream_slots ? s.upstream_slots->addresses() : s.cfg->upstream.servers;
  using F = metrics::UpstreamStats;
  auto sum_field = [&](size_t u, F::Field f) {
    uint64_t t = 0;
    for (const auto& w : *s.workers) t += w->upstream_stats().get(u, f);
    return static_cast<double>(t);
  };
  const std::pair<const Family*, F::Field> scalars[] = {{&cat::kUpstreamAttempts, F::kQueries},
                                                        {&cat::kUpstreamTimeouts, F::kTimeouts},
                                                        {&cat::kUpstreamFailures, F::kFailures}};
  for (const auto& [family, field] : scalars) {
    out.family(*family);
    for (size_t u = 0; u < servers.size(); ++u) {
      const std::string addr = servers[u].to_string();
      out.sample(*family, {{"upstream", addr}}, sum_field(u, field));
    }
  }
  // The health monitor's verdict, so that an alert can say "down" even after the pool
  // failed over and the dead upstream gets no more attempts to fail.
  // Every upstream row, up until the monitor has found it down (its first tick included).
  out.family(cat::kUpstreamUp);
  {
    std::vector<std::string> down;
    if (s.health)
      for (const auto& row : s.health->upstreams())
        if (!row.up) down.push_back(row.address);
    for (const auto& server : servers) {
      const std::string addr = server.to_string();
      const bool is_down = std::find(down.begin(), down.end(), addr) != down.end();
      out.sample(cat::kUpstreamUp, {{"upstream", addr}}, is_down ? 0.0 : 1.0);
    }
  }
  out.family(cat::kUpstreamLatency);
  constexpr size_t nb = metrics::kLatencyBounds.size();
  for (size_t u = 0; u < servers.size(); ++u) {
    uint64_t cumulative[nb + 1] = {};
    double sum_s = 0;
    for (const auto& w : *s.workers) {
      const auto& st = w->upstream_stats();
      for (size_t b = 0; b <= nb; ++b) cumulative[b] += st.bucket(u, b);
      sum_s += static_cast<double>(st.sum_ns(u)) * 1e-9;
    }
    for (size_t b = 1; b <= nb; ++b) cumulative[b] += cumulative[b - 1];
    const std::string addr = servers[u].to_string();
    out.histogram(cat::kUpstreamLatency, {{"upstream", addr}}, metrics::kLatencyBounds.data(),
                  cumulative, nb, sum_s);
  }
}

void reloads_and_lists(PrometheusText& out, const ServerState& s) {
  const auto& r = *s.reloads;
  const auto snap = s.holder->current();
  out.family(cat::kReloads);
  out.sample(cat::kReloads, static_cast<double>(r.reloads()));
  out.family(cat::kReloadFailures);
  out.sample(cat::kReloadFailures, static_cast<double>(r.failures()));
  out.family(cat::kReloadDuration);
  out.sample(cat::kReloadDuration, r.last_seconds());
  out.family(cat::kLastReload);
  out.sample(cat::kLastReload, static_cast<double>(r.last_success_unix()));
  out.family(cat::kLastReloadOk);
  out.sample(cat::kLastReloadOk, r.last_error().empty() ? 1 : 0);
  const std::vector<std::string> restart = r.restart_required();
  out.family(cat::kRestartRequired);
  out.sample(cat::kRestartRequired, restart.empty() ? 0 : 1);
  out.family(cat::kRestartRequiredKeys);
  for (const auto& key : restart) out.sample(cat::kRestartRequiredKeys, {{"key", key}}, 1);
  out.family(cat::kListReloadFailures);
  for (const auto& [key, n] : r.list_failure_counts())
    out.sample(cat::kListReloadFailures, {{"list", key.first}, {"reason", key.second}},
               static_cast<double>(n));
  out.family(cat::kGeneration);
  out.sample(cat::kGeneration, static_cast<double>(snap->generation));

  const auto now = static_cast<int64_t>(std::time(nullptr));
  const std::pair<const Family*, int> per_list[] = {{&cat::kListEntries, 0},
                                                    {&cat::kListRejected, 1},
                                                    {&cat::kListAge, 2},
                                                    {&cat::kListLoaded, 3}};
  for (const auto& [family, what] : per_list) {
    out.family(*family);
    for (const auto& l : snap->lists) {
      double v = 0;
      switch (what) {
        case 0:
          v = static_cast<double>(l.stats.entries);
          break;
        case 1:
          v = static_cast<double>(l.stats.rejects.size());
          break;
        case 2:
          v = static_cast<double>(now - l.file_mtime_unix);
          break;
        default:
          v = static_cast<double>(l.loaded_unix);
      }
      out.sample(*family, {{"list", l.name}, {"category", l.category}}, v);
    }
  }
  out.family(cat::kListExemptedNames);
  for (const auto& l : snap->lists)
    for (size_t i = 0; i < l.exceptions.size(); ++i)
      out.sample(cat::kListExemptedNames,
                 {{"list", l.name},
                  {"exceptions", snap->lists[l.exceptions[i]].name},
                  {"mandatory", l.mandatory ? "true" : "false"}},
                 static_cast<double>(l.exempted_names[i]));
  // Freshness (feeds::FeedStatus) of the lists in service.
  const auto fresh = s.feeds ? s.feeds->copy() : std::map<std::string, feeds::ListFeedState>{};
  const std::pair<const Family*, int> per_feed[] = {
      {&cat::kListSerial, 0}, {&cat::kListLastSuccess, 1}, {&cat::kListTimeToEnforce, 2}};
  for (const auto& [family, what] : per_feed) {
    out.family(*family);
    for (const auto& l : snap->lists) {
      const auto it = fresh.find(l.name);
      if (it == fresh.end()) continue;
      const feeds::ListFeedState& f = it->second;
      if (what == 0 && f.serial)
        out.sample(*family, {{"list", l.name}}, static_cast<double>(*f.serial));
      else if (what == 1 && f.last_success_ms > 0)
        out.sample(*family, {{"list", l.name}}, static_cast<double>(f.last_success_ms) / 1000.0);
      else if (what == 2 && f.seen_ms > 0 && f.enforced_ms >= f.seen_ms)
        out.sample(*family, {{"list", l.name}},
                   static_cast<double>(f.enforced_ms - f.seen_ms) / 1000.0);
    }
  }
}

// HTTP list sources: each list's fetch outcomes (resolver/feeds/feed_status.h).
void list_fetches(PrometheusText& out, const ServerState& s) {
  out.family(cat::kListFetches);
  if (!s.feeds) return;
  for (const auto& [list, st] : s.feeds->copy()) {
    if (st.source != "http") continue;
    const std::pair<const char*, uint64_t> outcomes[] = {{"downloaded", st.fetch_downloaded},
                                                         {"not_modified", st.fetch_not_modified},
                                                         {"failed", st.fetch_failed}};
    for (const auto& [outcome, n] : outcomes)
      out.sample(cat::kListFetches, {{"list", list}, {"outcome", outcome}}, static_cast<double>(n));
  }
}

// Feed lists' failed transfers by reason (FeedStatus: its own lock, never a worker's).
void feed_transfers(PrometheusText& out, const ServerState& s) {
  out.family(cat::kFeedTransferFailures);
  if (!s.feeds) return;
  for (const auto& [list, st] : s.feeds->copy())
    for (const auto& [reason, n] : st.failure_reasons)
      out.sample(cat::kFeedTransferFailures, {{"list", list}, {"reason", reason}},
                 static_cast<double>(n));
}

}  // namespace

std::string render_metrics(const ServerState& s) {
  PrometheusText out;
  table_counters(out, s);
  queries_by_type(out, s);
  blocked(out, s);
  protected_users(out, s);
  cache(out, s);
  upstreams(out, s);
  reloads_and_lists(out, s);
  list_fetches(out, s);
  feed_transfers(out, s);
  out.family(cat::kWorkers);
  out.sample(cat::kWorkers, static_cast<double>(s.workers->size()));
  out.family(cat::kStartTime);
  out.sample(cat::kStartTime, static_cast<double>(s.started_unix));
  out.family(cat::kBuildInfo);
  out.sample(cat::kBuildInfo, {{"version", sinkhole::kVersion}}, 1);
  return out.text();
}

}  // namespace sinkhole::observe
