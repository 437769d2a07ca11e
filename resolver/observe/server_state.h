// SPDX-License-Identifier: MIT
// ServerState: what the control thread (control commands, the SIGUSR1 stats line) and the
// metrics HTTP thread read about a running server. Plain pointers to objects that
// control::Server owns for as long as it runs; every one of them is safe to read from a
// thread other than the workers' (atomics, or a mutex that workers never take). Filled
// once by the control thread before any reader starts.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/feeds/feed_status.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/reload_status.h"
#include "resolver/pipeline/live_settings.h"
#include "resolver/pipeline/worker.h"
#include "resolver/upstream/upstream_slots.h"

namespace sinkhole::observe {

class HealthMonitor;  // health_monitor.h

struct ServerState {
  const config::Config* cfg = nullptr;  // as the process started (restart-required keys)
  const pipeline::LiveSettingsHolder* live = nullptr;       // the settings in force now
  const upstream::UpstreamSlots* upstream_slots = nullptr;  // labels of upstream stat rows
  const std::vector<std::unique_ptr<pipeline::Worker>>* workers = nullptr;
  const policy::SnapshotHolder* holder = nullptr;
  cache::PacketCache* cache = nullptr;         // always there in the server (may be disabled)
  metrics::BlockStats* block_stats = nullptr;  // also rotates protected-user windows
  const ReloadStatus* reloads = nullptr;
  const HealthMonitor* health = nullptr;  // upstream states, stuck workers (/healthz)
  const feeds::FeedStatus* feeds = nullptr;  // feed lists' last attempts and versions
  int64_t started_unix = 0;
};

}  // namespace sinkhole::observe
