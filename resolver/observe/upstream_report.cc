// SPDX-License-Identifier: MIT
#include "resolver/observe/upstream_report.h"

#include <fmt/format.h>

#include <cmath>

#include "resolver/observe/health_monitor.h"

namespace sinkhole::observe {

namespace {

// Seconds from a wall-clock ms stamp to now; negative stamps (clock steps) read 0.
int64_t age_s(int64_t unix_ms, int64_t now_unix) {
  const int64_t age = now_unix - unix_ms / 1000;
  return age < 0 ? 0 : age;
}

}  // namespace

std::string upstreams_text(const ServerState& s, int64_t now_unix) {
  if (!s.health) return "upstreams: not monitored\n";
  const auto rows = s.health->upstreams();
  if (rows.empty()) return "upstreams: no state yet (the first check runs a second after start)\n";
  std::string out;
  for (const auto& r : rows) {
    out += fmt::format(
        "{:<24} {:<4} for {:>6} s  rtt {:>8}  queries {} answers {} timeouts {} "
        "errors {}",
        r.address, r.up ? "up" : "DOWN", age_s(r.state_since_unix_ms, now_unix),
        r.srtt_ms > 0 ? fmt::format("{:.1f} ms", r.srtt_ms) : std::string("-"), r.queries,
        r.answers, r.timeouts, r.errors);
    if (!r.last_error.empty())
      out += fmt::format("  last error {} {} s ago", r.last_error,
                         age_s(r.last_error_unix_ms, now_unix));
    out += "\n";
  }
  return out;
}

nlohmann::ordered_json upstreams_json(const ServerState& s, int64_t now_unix) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  if (!s.health) return out;
  for (const auto& r : s.health->upstreams()) {
    nlohmann::ordered_json last_error = nullptr;
    if (!r.last_error.empty())
      last_error = {{"error", r.last_error},
                    {"unix", r.last_error_unix_ms / 1000},
                    {"age_s", age_s(r.last_error_unix_ms, now_unix)}};
    out.push_back({{"address", r.address},
                   {"state", r.up ? "up" : "down"},
                   {"state_since_unix", r.state_since_unix_ms / 1000},
                   {"rtt_ms", std::round(r.srtt_ms * 1000) / 1000},
                   {"queries", r.queries},
                   {"answers", r.answers},
                   {"timeouts", r.timeouts},
                   {"errors", r.errors},
                   {"failures_since_answer", r.failures_since_answer},
                   {"last_answer_unix", r.last_answer_unix_ms / 1000},
                   {"last_error", std::move(last_error)}});
  }
  return out;
}

}  // namespace sinkhole::observe
