// SPDX-License-Identifier: MIT
// The file-descriptor limit: every TCP client, upstream socket and HTTP connection is
// one, and the usual soft limit of 1024 is far below what the connection limits allow
// (server.tcp_max_connections per worker). At start the soft limit is raised to the hard
// limit (systemd's LimitNOFILE sets both), and the result logged.
// Main thread, at start-up, before any socket is opened.
#pragma once

#include <cstdint>
#include <string>

#include "resolver/config/config.h"

namespace sinkhole::control {

struct FdLimit {
  uint64_t before = 0;  // soft limit found
  uint64_t after = 0;   // soft limit now
  std::string error;    // why it could not be raised ("" = fine)
};

FdLimit raise_fd_limit();

// Descriptors the configuration may need at its limits: every worker's TCP clients and
// the HTTP connections, plus a margin for upstream sockets, listeners and lists.
uint64_t fd_demand(const config::Config& cfg);

// raise_fd_limit(), logged: "fd limit raised from 1024 to 524288" (info), and a warning
// when the limit stays below fd_demand(cfg).
FdLimit raise_and_log_fd_limit(const config::Config& cfg);

}  // namespace sinkhole::control
