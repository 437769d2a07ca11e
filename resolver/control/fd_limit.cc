// SPDX-License-Identifier: MIT
#include "resolver/control/fd_limit.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "resolver/control/listeners.h"

namespace sinkhole::control {

FdLimit raise_fd_limit() {
  FdLimit out;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.before = out.after = rl.rlim_cur;
  if (rl.rlim_cur == rl.rlim_max) return out;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.after = rl.rlim_cur;
  return out;
}

uint64_t fd_demand(const config::Config& cfg) {
  constexpr uint64_t kMargin = 1024;  // upstream sockets, listeners, lists, control socket
  const uint64_t http = cfg.metrics.listen ? cfg.metrics.max_connections : 0;
  return uint64_t{worker_count(cfg)} * cfg.server.tcp_max_connections + http + kMargin;
}

FdLimit raise_and_log_fd_limit(const config::Config& cfg) {
  const FdLimit l = raise_fd_limit();
  if (!l.error.empty())
    spdlog::warn("fd limit {}: could not raise it to the hard limit: {}", l.before, l.error);
  else if (l.after != l.before)
    spdlog::info("fd limit raised from {} to {}", l.before, l.after);
  else
    spdlog::info("fd limit {}", l.after);
  const uint64_t need = fd_demand(cfg);
  if (l.after < need)
    spdlog::warn(
        "fd limit {} is below the {} the connection limits may need ({} workers x "
        "server.tcp_max_connections {} + HTTP + 1024): raise LimitNOFILE (ulimit -n) or lower "
        "server.tcp_max_connections",
        l.after, need, worker_count(cfg), cfg.server.tcp_max_connections);
  return l;
}

}  // namespace sinkhole::control
