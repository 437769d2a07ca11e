// SPDX-License-Identifier: MIT
// FuzzServer: a ServerState as a running server fills it, without threads or sockets (as
// tests/resolver/observe/server_fixture.h, without doctest): no workers, a packet cache,
// and a snapshot of a policy that uses every list format, built from the lists of
// list_files.h. The control-request and /explain targets ask their questions of it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy/snapshot_builder.h"
#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/reload_status.h"
#include "resolver/observe/server_state.h"
#include "resolver/pipeline/worker.h"
#include "tests/fuzz/list_files.h"

namespace sinkhole::fuzz {

inline constexpr const char* kFuzzPolicy = R"yaml(upstreams: [127.0.0.1:5300]
# The fixture lists hold rejected lines on purpose (every reader's error paths).
list_defaults: { max_reject_ratio: 100% }
lists:
  casino: { path: casino.txt, category: gambling }
  domains: { path: domains.txt, format: domains }
  hosts: { path: hosts.txt, format: hosts }
  adblock: { path: adblock.txt, format: adblock }
  patterns: { path: patterns.txt, format: patterns }
  rpz: { path: policy.rpz, format: rpz }
  exceptions: { path: lists/exceptions.txt }
actions:
  warning:
    type: sinkhole
    a: 203.0.113.10
    ede: censored
    ede_text: "Blocked (list {list}, category {category})"
policies:
  - name: subscribers
    clients: [192.0.2.0/24, "2001:db8::/32"]
    allow: [exceptions]
    block: [casino, domains, hosts, adblock, patterns, rpz]
  - name: business
    clients: [198.51.100.0/24]
    block: [{ list: casino, action: warning }]
default_policy: subscribers
)yaml";

struct FuzzServer {
  FuzzDir dir;
  config::Config cfg;
  std::vector<std::unique_ptr<pipeline::Worker>> workers;
  policy::SnapshotHolder holder;
  metrics::BlockStats block_stats{1};
  observe::ReloadStatus reloads;
  cache::PacketCache cache;
  observe::ServerState state;

  FuzzServer() {
    write_list_files(dir);
    auto built = policy::build_snapshot(kFuzzPolicy, dir.write("sinkholed.yaml", kFuzzPolicy), 1,
                                        &block_stats);
    for (const auto& e : built.errors) std::fprintf(stderr, "fuzz policy: %s\n", e.c_str());
    if (!built.snapshot) std::abort();
    holder.publish(std::move(built.snapshot));
    state.cfg = &cfg;
    state.workers = &workers;
    state.holder = &holder;
    state.cache = &cache;
    state.block_stats = &block_stats;
    state.reloads = &reloads;
    state.started_unix = 1'700'000'000;
  }
};

}  // namespace sinkhole::fuzz
