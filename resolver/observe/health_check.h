// SPDX-License-Identifier: MIT
// The verdict of GET /healthz, as a pure function of what the server knows: unhealthy
// (503) when the lists are not loaded, a worker is stuck (its heartbeat has not moved
// for HealthMonitor::kStuckAfter), the last reload failed (the old policy serves, but the
// operator's change is not in service), or no upstream is up; healthy (200) otherwise.
// Every reason that applies is given, each with a stable `check` key for scripts and a
// line for people. Any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sinkhole::observe {

struct HealthInput {
  bool lists_loaded = true;
  // Feed lists serving no copy yet (pending: their first transfer or download has not
  // succeeded) — or dropped past an RPZ SOA expire (on_expire: drop).
  std::vector<std::string> pending_lists;
  uint64_t generation = 0;
  std::vector<size_t> stuck_workers;
  std::string last_reload_error;  // "" after a success
  size_t upstreams = 0;
  size_t upstreams_up = 0;
};

struct HealthReason {
  std::string check;  // "lists", "workers", "reload", "upstreams"
  std::string message;
};

struct HealthVerdict {
  bool healthy = true;
  std::vector<HealthReason> reasons;
};

HealthVerdict evaluate_health(const HealthInput& in);
// {"status":"ok"|"unhealthy","reasons":[{"check":..,"message":..}],"generation":N,
//  "upstreams_up":N,"upstreams":N}
nlohmann::ordered_json health_json(const HealthInput& in, const HealthVerdict& v);

}  // namespace sinkhole::observe
