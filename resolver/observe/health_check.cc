// SPDX-License-Identifier: MIT
#include "resolver/observe/health_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sinkhole::observe {

HealthVerdict evaluate_health(const HealthInput& in) {
  HealthVerdict v;
  auto fail = [&v](std::string check, std::string message) {
    v.healthy = false;
    v.reasons.push_back({std::move(check), std::move(message)});
  };
  if (!in.lists_loaded)
    fail("lists", "the lists are not loaded yet");
  else if (!in.pending_lists.empty())
    fail("lists", fmt::format("feed list(s) {} have no copy to serve yet",
                              fmt::join(in.pending_lists, ", ")));
  if (!in.stuck_workers.empty())
    fail("workers", fmt::format("worker(s) {} made no progress (stuck loop)",
                                fmt::join(in.stuck_workers, ", ")));
  if (!in.last_reload_error.empty())
    fail("reload", fmt::format("the last reload failed (policy generation {} still in service): {}",
                               in.generation, in.last_reload_error));
  if (in.upstreams > 0 && in.upstreams_up == 0)
    fail("upstreams", fmt::format("no upstream is up (all {} down)", in.upstreams));
  return v;
}

nlohmann::ordered_json health_json(const HealthInput& in, const HealthVerdict& v) {
  nlohmann::ordered_json reasons = nlohmann::ordered_json::array();
  for (const auto& r : v.reasons) reasons.push_back({{"check", r.check}, {"message", r.message}});
  return {{"status", v.healthy ? "ok" : "unhealthy"},
          {"reasons", std::move(reasons)},
          {"generation", in.generation},
          {"upstreams_up", in.upstreams_up},
          {"upstreams", in.upstreams}};
}

}  // namespace sinkhole::observe
