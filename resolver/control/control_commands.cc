// SPDX-License-Identifier: MIT
#include "resolver/control/control_commands.h"

#include <fmt/format.h>

#include <ctime>
#include <sstream>
#include <vector>

#include "policy/explain.h"
#include "resolver/dns/name.h"
#include "resolver/metrics/json_text.h"
#include "resolver/metrics/worker_counters.h"

namespace sinkhole::control {

namespace {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string stats(const observe::ServerState& s, bool json) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *s.workers) all.push_back(&w->counters());
  const auto counters = metrics::sum(all);
  const auto blocked =
      s.block_stats ? s.block_stats->rows() : std::vector<metrics::BlockStats::Row>{};
  const cache::CacheStats cs = s.cache ? s.cache->stats() : cache::CacheStats{};
  if (json) {
    std::string rows;
    for (const auto& r : blocked)
      rows +=
          fmt::format("{}{{\"list\":{},\"category\":{},\"action\":{},\"blocked\":{}}}",
                      rows.empty() ? "" : ",", metrics::json_quoted(r.list),
                      metrics::json_quoted(r.category), metrics::json_quoted(r.action), r.blocked);
    std::string users;
    if (s.block_stats) {
      const auto names = s.block_stats->categories();
      const auto now = static_cast<int64_t>(std::time(nullptr));
      for (size_t id = 0; id < names.size(); ++id) {
        const auto e = s.block_stats->protected_users().estimate(static_cast<uint16_t>(id), now);
        users += fmt::format("{}{{\"category\":{},\"last_hour\":{:.0f},\"last_day\":{:.0f}}}",
                             users.empty() ? "" : ",", metrics::json_quoted(names[id]), e.last_hour,
                             e.last_day);
      }
    }
    return fmt::format(
        "{{\"counters\":{},\"blocked\":[{}],\"protected_users\":[{}],\"cache\":{{"
        "\"enabled\":{},\"entries\":{},\"bytes\":{},\"inserts\":{},\"evictions\":{}}}}}\n",
        metrics::to_json(counters), rows, users, s.cache ? "true" : "false", cs.entries, cs.bytes,
        cs.inserts, cs.evictions);
  }
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
  out += fmt::format(
      "answers: noerror {}, nxdomain {}, servfail {}, refused {}; refused (no policy) {}\n",
      get("answers_noerror"), get("answers_nxdomain"), get("answers_servfail"),
      get("answers_refused"), get("refused_no_policy"));
  if (s.cache)
    out += fmt::format("cache: {} hits, {} misses, {} stale; {} entries, {:.1f} MiB\n",
                       get("cache_hits"), get("cache_misses"), get("cache_stale_answers"),
                       cs.entries, static_cast<double>(cs.bytes) / (1 << 20));
  else
    out += "cache: off\n";
  out += fmt::format("upstream: {} queries, {} timeouts, {} errors, {} all failed\n",
                     get("upstream_queries"), get("upstream_timeouts"), get("upstream_errors"),
                     get("upstream_all_failed"));
  if (s.block_stats) {
    const auto names = s.block_stats->categories();
    const auto now = static_cast<int64_t>(std::time(nullptr));
    if (!names.empty())
      out += "protected users (distinct clients with a blocked query, ~0.8% error):\n";
    for (size_t id = 0; id < names.size(); ++id) {
      const auto e = s.block_stats->protected_users().estimate(static_cast<uint16_t>(id), now);
      out += fmt::format("  {:<20} last hour {:>10.0f}   last day {:>10.0f}\n", names[id],
                         e.last_hour, e.last_day);
    }
  }
  if (!blocked.empty()) out += "blocked by list, category, action:\n";
  for (const auto& r : blocked)
    out += fmt::format("  {:<20} {:<14} {:<16} {:>12}\n", r.list, r.category, r.action, r.blocked);
  return out;
}

std::string lists(const observe::ServerState& s, bool json) {
  const auto snap = s.holder->current();
  const auto now = static_cast<int64_t>(std::time(nullptr));
  std::string out = json ? "[" : "";
  if (!json && snap->lists.empty()) out += "no lists configured\n";
  for (const auto& l : snap->lists) {
    const int64_t age = now - l.file_mtime_unix;
    if (json) {
      out += fmt::format(
          "{}{{\"name\":{},\"category\":{},\"format\":{},\"path\":{},\"entries\":{},"
          "\"rules\":{},\"rejected\":{},\"age_s\":{},\"loaded_unix\":{},\"generation\":{}}}",
          out.size() > 1 ? "," : "", metrics::json_quoted(l.name), metrics::json_quoted(l.category),
          metrics::json_quoted(blocklist::to_string(l.format)), metrics::json_quoted(l.path),
          l.stats.entries, l.stats.rules, l.stats.rejects.size(), age, l.loaded_unix,
          snap->generation);
    } else {
      out += fmt::format("{:<20} {:<14} {:<8} {:>9} entries {:>6} rejected  age {:>7} s  {}\n",
                         l.name, l.category, blocklist::to_string(l.format), l.stats.entries,
                         l.stats.rejects.size(), age, l.path);
    }
  }
  return json ? out + "]\n" : out;
}

std::string explain(const observe::ServerState& s, const std::vector<std::string>& w, bool json) {
  // explain NAME [CLIENT]
  if (w.size() < 2) return "error: usage: explain NAME [CLIENT-ADDRESS]\n";
  sockaddr_storage addr{};
  const sockaddr* client = nullptr;
  if (w.size() >= 3) {
    if (!policy::parse_client_address(w[2], addr))
      return fmt::format("error: '{}' is not an IPv4 or IPv6 address\n", w[2]);
    client = reinterpret_cast<const sockaddr*>(&addr);
  }
  const auto snap = s.holder->current();
  const policy::Explanation e = policy::explain(*snap, w[1], client);
  if (e.outcome == policy::Explanation::Outcome::kInvalidName) return "error: " + e.to_text();
  return json ? e.to_json() + "\n" : e.to_text();
}

std::string cache_flush(const observe::ServerState& s, const std::vector<std::string>& w) {
  if (!s.cache) return "error: the cache is off (cache.max_bytes: 0)\n";
  if (w.size() == 2) {
    const size_t before = s.cache->stats().entries;
    s.cache->flush();
    return fmt::format("ok: cache flushed ({} entries)\n", before);
  }
  uint8_t wire[dns::kMaxNameWire];
  const size_t len = dns::text_to_wire(w[2], wire);
  if (len == 0) return fmt::format("error: '{}' is not a valid name\n", w[2]);
  const size_t n = s.cache->flush(wire, len);
  return fmt::format("ok: {} entr{} for {} removed\n", n, n == 1 ? "y" : "ies", w[2]);
}

}  // namespace

bool handle_state_command(const observe::ServerState& s, const std::string& command, std::string& reply) {
  auto w = words(command);
  if (w.empty()) return false;
  const bool json = w.back() == "json";
  if (json) w.pop_back();
  if (w[0] == "stats" && w.size() == 1) {
    reply = stats(s, json);
  } else if (w[0] == "lists" && w.size() == 1) {
    reply = lists(s, json);
  } else if (w[0] == "explain") {
    reply = explain(s, w, json);
  } else if (w[0] == "cache" && w.size() >= 2 && w[1] == "flush" && w.size() <= 3) {
    reply = cache_flush(s, w);
  } else {
    return false;
  }
  return true;
}

}  // namespace sinkhole::control
