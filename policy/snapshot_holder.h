// SPDX-License-Identifier: MIT
// SnapshotHolder: publishes the current PolicySnapshot to the workers without a lock on
// their hot path (the idea of PowerDNS's sholder.hh). The control thread swaps the pointer
// under a mutex and bumps an atomic generation; each worker keeps its own shared_ptr and
// only takes the mutex when the generation moved, i.e. once per reload.
//
// Retired snapshots are kept here until no worker refers to them any more, and are then
// released by the control thread (collect()), so a worker never pays for freeing a
// million-entry matcher.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "policy/snapshot.h"

namespace sinkhole::policy {

class SnapshotHolder {
 public:
  // Control thread.
  void publish(std::shared_ptr<const PolicySnapshot> s) {
    std::lock_guard lock(mu_);
    if (current_) retired_.push_back(current_);
    current_ = std::move(s);
    generation_.store(current_->generation, std::memory_order_release);
  }
  // Control thread: frees retired snapshots no worker holds any more.
  size_t collect() {
    std::lock_guard lock(mu_);
    std::erase_if(retired_, [](const auto& s) { return s.use_count() == 1; });
    return retired_.size();
  }
  size_t retired() const {
    std::lock_guard lock(mu_);
    return retired_.size();
  }
  std::shared_ptr<const PolicySnapshot> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PolicySnapshot> current_;
  std::vector<std::shared_ptr<const PolicySnapshot>> retired_;
  std::atomic<uint64_t> generation_{0};
};

// A worker's view: refreshes its reference only when the generation changed.
class SnapshotView {
 public:
  explicit SnapshotView(const SnapshotHolder& h) : holder_(h) {}
  const PolicySnapshot& get() {
    const uint64_t g = holder_.generation();
    if (g != seen_ || !snap_) {
      snap_ = holder_.current();
      seen_ = snap_ ? snap_->generation : 0;
    }
    return *snap_;
  }

 private:
  const SnapshotHolder& holder_;
  std::shared_ptr<const PolicySnapshot> snap_;
  uint64_t seen_ = 0;
};

}  // namespace sinkhole::policy
