// SPDX-License-Identifier: MIT
// HeartbeatMonitor: decides whether the systemd watchdog may be fed. Each worker bumps a
// counter from a timer on its own loop (Worker::heartbeat); a loop stuck in a callback,
// a deadlock or an endless retry stops bumping it. The process as a whole is alive only if
// every worker is: one hung worker silently drops its share of the queries (SO_REUSEPORT
// keeps hashing clients to it), so the watchdog must restart the daemon, which a ping
// from the healthy control thread alone would prevent.
// Pure (no clock, no I/O) so the decision is unit-tested; Watchdog drives it.
// Control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sinkhole::systemd {

class HeartbeatMonitor {
 public:
  // Records `beats` (one counter per worker, in worker order) and returns the indices of
  // the workers whose counter did not move since the previous call (the first call
  // compares with zero, the value before a worker's first beat). A change in the number
  // of workers counts every worker as stalled once: nothing to compare with.
  std::vector<size_t> stalled(std::span<const uint64_t> beats);

 private:
  std::vector<uint64_t> last_;
  bool first_ = true;
};

}  // namespace sinkhole::systemd
