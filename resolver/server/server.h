// SPDX-License-Identifier: MIT
// Server: the control thread. Takes the listen sockets bound by main() (listeners.h),
// starts the workers, handles signals (SIGTERM/SIGINT: graceful
// stop; SIGUSR1: log counters; SIGHUP: reload, from the policies issue on) and joins.
#pragma once

#include <memory>
#include <vector>

#include "policy/snapshot.h"
#include "resolver/config/config.h"
#include "resolver/server/worker.h"

namespace sinkhole::server {

// Runs until SIGTERM/SIGINT; returns the process exit code. `fds`: one entry per worker,
// from bind_listeners. `policies` is the snapshot built at start; SIGHUP rebuilds it from
// cfg.path off the hot path.
int run_server(const config::Config& cfg, std::vector<ListenFds> fds,
               std::shared_ptr<const policy::PolicySnapshot> policies);

}  // namespace sinkhole::server
