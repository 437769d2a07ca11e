// SPDX-License-Identifier: MIT
// Server: the control thread. Binds every listen socket (so a bad address fails at start
// with a clear message), starts the workers, handles signals (SIGTERM/SIGINT: graceful
// stop; SIGUSR1: log counters; SIGHUP: reload, from the policies issue on) and joins.
#pragma once

#include "resolver/config/config.h"

namespace sinkhole::server {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_server(const config::Config& cfg);

}  // namespace sinkhole::server
