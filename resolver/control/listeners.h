// SPDX-License-Identifier: MIT
// The listening sockets: one UDP and one TCP socket per worker on every listen address,
// bound with SO_REUSEPORT so that the kernel spreads clients across the workers.
//
// main() binds them before the lists are loaded: a bad address still fails the start at
// once, and queries that arrive while a large list compiles wait in the socket buffers
// and are answered as soon as the workers start, instead of being refused (ICMP port
// unreachable), which a stub only notices after its timeout (1 s or more).
// Main thread, at start-up (before it becomes the control thread).
#pragma once

#include <optional>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/pipeline/worker.h"

namespace sinkhole::control {

// Every worker's sockets, or nullopt (the reason logged, nothing left open).
std::optional<std::vector<pipeline::ListenFds>> bind_listeners(const config::Config& cfg);

// Closes what bind_listeners opened (a start that fails later).
void close_listeners(std::vector<pipeline::ListenFds>& fds);

// The TCP socket of metrics.listen, bound and listening, or -1 (the reason logged). Bound
// with the DNS sockets, so that a wrong metrics address fails the start at once too.
int bind_metrics_listener(const config::SocketAddress& addr);

// How many workers a config asks for (`auto`: one per core).
unsigned worker_count(const config::Config& cfg);

}  // namespace sinkhole::control
