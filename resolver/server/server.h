// SPDX-License-Identifier: MIT
// Server: the control thread. Binds every listen socket (so a bad address fails at start
// with a clear message), starts the workers, handles signals (SIGTERM/SIGINT: graceful
// stop; SIGUSR1: log counters; SIGHUP: reload, from the policies issue on) and joins.
#pragma once

#include <memory>

#include "policy/snapshot.h"
#include "resolver/config/config.h"

namespace sinkhole::server {

// Runs until SIGTERM/SIGINT; returns the process exit code. `policies` is the snapshot
// built at start; SIGHUP rebuilds it from cfg.path off the hot path.
int run_server(const config::Config& cfg, std::shared_ptr<const policy::PolicySnapshot> policies);

}  // namespace sinkhole::server
