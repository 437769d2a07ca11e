// SPDX-License-Identifier: MIT
// UpstreamSlots: which row of each worker's metrics::UpstreamStats counts which upstream
// address. Rows are handed out in order of first use and never reused, so an upstream's
// counters go on across reloads that keep it (Prometheus counters never go backwards) and
// one a reload removed keeps its last values. Past kMax distinct addresses a new one gets
// row kMax, which UpstreamStats ignores (counted in no row).
// assign(): the control thread (start-up, reloads); addresses(): any thread (the metrics
// HTTP thread) — a mutex that workers never take.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "resolver/config/socket_address.h"

namespace sinkhole::upstream {

class UpstreamSlots {
 public:
  static constexpr unsigned kMax = 64;

  // The row of each of `servers`, registering new addresses.
  std::vector<unsigned> assign(const std::vector<config::SocketAddress>& servers) {
    std::lock_guard lock(mu_);
    std::vector<unsigned> rows;
    rows.reserve(servers.size());
    for (const auto& s : servers) {
      unsigned row = 0;
      while (row < known_.size() && !(known_[row] == s)) ++row;
      if (row == known_.size()) {
        if (known_.size() >= kMax) {
          rows.push_back(kMax);
          continue;
        }
        known_.push_back(s);
      }
      rows.push_back(row);
    }
    return rows;
  }
  // Every address given a row so far, by row.
  std::vector<config::SocketAddress> addresses() const {
    std::lock_guard lock(mu_);
    return known_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<config::SocketAddress> known_;
};

}  // namespace sinkhole::upstream
