// SPDX-License-Identifier: MIT
// HealthMonitor: the running server's health, as /healthz, `sinkholectl upstreams` and
// `sinkholectl status` show it. Once a second (tick(), from a timer on the control loop)
// it merges every worker's per-upstream figures (metrics/upstream_stats.h: written by the
// workers, read here with relaxed loads), moves each upstream's UpstreamHealth and logs
// a change once for the whole process — "upstream … is down" (warn, with where queries
// fail over to) and "upstream … is up again" (info) — and watches the workers' heartbeats
// (a loop whose beat has not moved for kStuckAfterMs is stuck). The results are kept
// behind a mutex that workers never take: the metrics HTTP thread and the control
// commands read them. tick() on the control thread; the readers from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "resolver/observe/health_check.h"
#include "resolver/observe/upstream_health.h"

namespace sinkhole::observe {

struct ServerState;

class HealthMonitor {
 public:
  // Workers beat this often when no systemd watchdog sets a faster pace.
  static constexpr std::chrono::milliseconds kHeartbeatPeriod{1000};
  static constexpr uint64_t kStuckAfterMs = 5000;
  static constexpr uint64_t kTickMs = 1000;

  // One upstream as the reports show it.
  struct UpstreamRow {
    std::string address;
    bool up = true;
    int64_t state_since_unix_ms = 0;  // when it went down or came up (start: server start)
    double srtt_ms = 0;               // smoothed over answers, averaged over workers; 0: none
    uint64_t queries = 0, answers = 0, timeouts = 0, errors = 0;
    uint64_t failures_since_answer = 0;
    int64_t last_answer_unix_ms = 0;  // 0: never
    std::string last_error;           // "timeout", "socket error", "SERVFAIL/REFUSED", ...
    int64_t last_error_unix_ms = 0;   // 0: never
  };

  // `state` must outlive the monitor; `now_ms` is the loop's monotonic time at start.
  HealthMonitor(const ServerState& state, uint64_t now_ms) : state_(state), start_ms_(now_ms) {}

  // Control thread.
  void tick(uint64_t now_ms);

  // Any thread.
  std::vector<UpstreamRow> upstreams() const;
  std::vector<size_t> stuck_workers() const;
  // What /healthz decides on (health_check.h).
  HealthInput health_input() const;

 private:
  void watch_heartbeats(uint64_t now_ms);

  const ServerState& state_;
  uint64_t start_ms_;
  std::map<std::string, UpstreamHealth> trackers_;  // by address: the list may change
  std::string primary_;                             // the upstream most workers ask first
  std::vector<uint64_t> beats_;
  std::vector<uint64_t> beat_moved_ms_;
  mutable std::mutex mu_;  // guards rows_ and stuck_
  std::vector<UpstreamRow> rows_;
  std::vector<size_t> stuck_;
};

}  // namespace sinkhole::observe
