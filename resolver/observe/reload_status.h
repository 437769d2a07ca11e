// SPDX-License-Identifier: MIT
// ReloadStatus: the outcome of policy loads as observers see it (reload counters, the last
// success, the last error). Written by the control thread's Reloader; read from any thread
// (the metrics HTTP thread, control commands), so every field is an atomic or behind a
// mutex that workers never take.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>

namespace sinkhole::observe {

class ReloadStatus {
 public:
  // Control thread: the build at start-up counts as the last successful load.
  void record_initial(double seconds) {
    last_seconds_.store(seconds, std::memory_order_relaxed);
    last_success_unix_.store(static_cast<int64_t>(std::time(nullptr)), std::memory_order_relaxed);
  }
  // Control thread: a reload published a new snapshot.
  void record_success(double seconds) {
    reloads_.fetch_add(1, std::memory_order_relaxed);
    record_initial(seconds);
    std::lock_guard lock(error_mu_);
    last_error_.clear();
  }
  // Control thread: a reload failed; the previous snapshot keeps serving.
  void record_failure(const std::string& error) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    last_error_ = error;
  }

  // Any thread.
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  double last_seconds() const { return last_seconds_.load(std::memory_order_relaxed); }
  int64_t last_success_unix() const { return last_success_unix_.load(std::memory_order_relaxed); }
  std::string last_error() const {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }

 private:
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<double> last_seconds_{0};
  std::atomic<int64_t> last_success_unix_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace sinkhole::observe
