// SPDX-License-Identifier: MIT
// LiveSettings: the settings a reload changes without a restart, as one immutable object
// the control thread publishes and every worker picks up between two loop turns — the same
// pattern as the policy snapshot (policy/snapshot_holder.h), for the server settings.
//
//   control thread   reload: parse the Config from the document the policy was built from,
//                    copy the restart-required keys from the Config the process started
//                    with (config::keep_restart_settings: what runs is what status shows),
//                    build what workers cannot build cheaply (upstream stat rows, the
//                    blocked-query logger), then publish — right after the policy snapshot.
//                    Shared state (the packet cache, spdlog's level, the file watcher) is
//                    reconfigured there too.
//   worker           each loop turn (a uv_prepare handle: one atomic load) compares the
//                    published generation with its own; when it moved, it takes the new
//                    object and applies it between two queries: the pipeline's admit
//                    tables, rate limit, in-flight limits, log fields and per-query reads
//                    (QueryPipeline::apply_settings); a new upstream pool when any upstream
//                    setting changed (questions in flight finish on the old one, which is
//                    closed when its last question is done).
//
// A worker keeps a shared_ptr to the object it applied, so the Config its pipeline points
// at stays alive; retired objects are released by the control thread (collect()), never on
// a worker. Hot path: nothing but the per-turn generation load; no lock, no allocation
// (building a new pool or admit table happens once per reload).
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "resolver/config/config.h"

namespace sinkhole::pipeline {

struct LiveSettings {
  uint64_t generation = 0;  // 1 at start, then one more per reload that succeeded
  std::shared_ptr<const config::Config> config;
  // The metrics::UpstreamStats row of each config->upstream.servers[i] (UpstreamSlots).
  std::vector<unsigned> upstream_rows;
  // Where blocked queries are logged; null when config->log.blocked_queries is false.
  std::shared_ptr<spdlog::logger> blocked_log;
};

// Whether two settings need different upstream pools.
inline bool same_upstreams(const LiveSettings& a, const LiveSettings& b) {
  const config::UpstreamConfig& x = a.config->upstream;
  const config::UpstreamConfig& y = b.config->upstream;
  return x.servers == y.servers && x.timeout == y.timeout && x.deadline == y.deadline &&
         x.max_inflight_per_upstream == y.max_inflight_per_upstream &&
         x.socket_reuse == y.socket_reuse && a.upstream_rows == b.upstream_rows;
}

class LiveSettingsHolder {
 public:
  // Control thread.
  void publish(std::shared_ptr<const LiveSettings> s) {
    std::lock_guard lock(mu_);
    if (current_) retired_.push_back(current_);
    current_ = std::move(s);
    generation_.store(current_->generation, std::memory_order_release);
  }
  // Control thread: releases retired settings no worker holds any more.
  size_t collect() {
    std::lock_guard lock(mu_);
    std::erase_if(retired_, [](const auto& s) { return s.use_count() == 1; });
    return retired_.size();
  }
  // Any thread; takes the mutex (a worker only when generation() moved).
  std::shared_ptr<const LiveSettings> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const LiveSettings> current_;
  std::vector<std::shared_ptr<const LiveSettings>> retired_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace sinkhole::pipeline
