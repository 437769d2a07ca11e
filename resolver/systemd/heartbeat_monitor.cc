// SPDX-License-Identifier: MIT
#include "resolver/systemd/heartbeat_monitor.h"

namespace sinkhole::systemd {

std::vector<size_t> HeartbeatMonitor::stalled(std::span<const uint64_t> beats) {
  if (first_) {
    last_.assign(beats.size(), 0);
    first_ = false;
  }
  std::vector<size_t> out;
  if (beats.size() != last_.size()) {
    for (size_t i = 0; i < beats.size(); ++i) out.push_back(i);
  } else {
    // Unequal, not greater: a counter that wrapped (2^64 beats) has still moved.
    for (size_t i = 0; i < beats.size(); ++i)
      if (beats[i] == last_[i]) out.push_back(i);
  }
  last_.assign(beats.begin(), beats.end());
  return out;
}

}  // namespace sinkhole::systemd
