// SPDX-License-Identifier: MIT
// ServerFixture: a ServerState as a running server fills it, without threads or sockets:
// no workers (their counters sum to zero), a snapshot built from `yaml` in a temp dir,
// block stats, reload status and, when asked, a packet cache. Shared by the observe and
// control tests.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policy/snapshot_builder.h"
#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/reload_status.h"
#include "resolver/observe/server_state.h"
#include "resolver/pipeline/worker.h"
#include "tests/policy/temp_dir.h"

namespace sinkhole::test {

struct ServerFixture {
  TempDir tmp;
  config::Config cfg;
  std::vector<std::unique_ptr<pipeline::Worker>> workers;
  policy::SnapshotHolder holder;
  metrics::BlockStats block_stats{1};
  observe::ReloadStatus reloads;
  std::unique_ptr<cache::PacketCache> cache;
  observe::ServerState state;

  // `files`: list files to write beside the config, name → content.
  explicit ServerFixture(const std::string& yaml,
                         const std::vector<std::pair<std::string, std::string>>& files = {},
                         bool with_cache = false) {
    for (const auto& [name, text] : files) tmp.write(name, text);
    tmp.write("sinkholed.yaml", yaml);
    auto built = policy::build_snapshot(yaml, tmp.config(), 1, &block_stats);
    for (const auto& e : built.errors) MESSAGE(e);
    REQUIRE(built.snapshot);
    holder.publish(std::move(built.snapshot));
    if (with_cache) cache = std::make_unique<cache::PacketCache>();
    state.cfg = &cfg;
    state.workers = &workers;
    state.holder = &holder;
    state.cache = cache.get();
    state.block_stats = &block_stats;
    state.reloads = &reloads;
    state.started_unix = 1'700'000'000;
  }
};

}  // namespace sinkhole::test
