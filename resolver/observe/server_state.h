// SPDX-License-Identifier: MIT
// ServerState: what the control thread, the metrics endpoint and the control commands read
// about a running server. Plain pointers to objects that live for the whole of
// run_server(); every one of them is safe to read from another thread (atomics, or a
// mutex that workers never take).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/reload_status.h"
#include "resolver/pipeline/worker.h"

namespace sinkhole::observe {

struct ServerState {
  const config::Config* cfg = nullptr;
  const std::vector<std::unique_ptr<pipeline::Worker>>* workers = nullptr;
  const policy::SnapshotHolder* holder = nullptr;
  cache::PacketCache* cache = nullptr;         // null when the cache is off
  metrics::BlockStats* block_stats = nullptr;  // also rotates protected-user windows
  const ReloadStatus* reloads = nullptr;
  int64_t started_unix = 0;
};

}  // namespace sinkhole::observe
