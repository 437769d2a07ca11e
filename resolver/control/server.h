// SPDX-License-Identifier: MIT
// Server: the control thread. Takes the listen sockets bound by main() (listeners.h),
// starts the workers, handles signals (SIGTERM/SIGINT: graceful
// stop; SIGUSR1: log counters; SIGHUP: reload, from the policies issue on) and joins.
#pragma once

#include <memory>
#include <vector>

#include "policy/snapshot.h"
#include "resolver/config/config.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/pipeline/worker.h"

namespace sinkhole::control {

// Runs until SIGTERM/SIGINT; returns the process exit code. `fds`: one entry per worker,
// from bind_listeners. `policies` is the snapshot built at start; SIGHUP rebuilds it from
// cfg.path off the hot path.
struct StartExtras {
  metrics::BlockStats* block_stats = nullptr;  // the cells the start-up snapshot counts into
  int metrics_fd = -1;                         // bind_metrics_listener, or -1 (no HTTP)
  double build_seconds = 0;                    // of the start-up policy build
};
int run_server(const config::Config& cfg, std::vector<pipeline::ListenFds> fds,
               std::shared_ptr<const policy::PolicySnapshot> policies,
               const StartExtras& extras = {});

}  // namespace sinkhole::control
