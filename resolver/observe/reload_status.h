// SPDX-License-Identifier: MIT
// ReloadStatus: the outcome of policy loads as observers see it (reload counters, the last
// success, the last error). Written by the control thread's Reloader; read from any thread
// (the metrics HTTP thread, control commands), so every field is an atomic or behind a
// mutex that workers never take.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sinkhole::observe {

class ReloadStatus {
 public:
  // One list a failed reload refused: its name, the reason key, the message.
  struct ListFailure {
    std::string list;
    std::string reason;
    std::string message;
  };

  // Control thread: the build at start-up counts as the last successful load. `warnings`:
  // what its build said about the policy now in service (list summaries, strict checks).
  void record_initial(double seconds, std::vector<std::string> warnings = {}) {
    last_seconds_.store(seconds, std::memory_order_relaxed);
    last_success_unix_.store(static_cast<int64_t>(std::time(nullptr)), std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    if (warnings.size() > kMaxWarnings) warnings.resize(kMaxWarnings);
    warnings_ = std::move(warnings);
  }
  // Control thread: a reload published a new snapshot and applied the live settings.
  // `warnings`: what its build said (as record_initial). `restart_required`: the keys
  // (dotted paths) whose values in the file differ from those the process runs with
  // (config::restart_required_changes against the start-up Config): they stay pending
  // until a restart, whatever later reloads do.
  void record_success(double seconds, std::vector<std::string> warnings = {},
                      const std::vector<std::string>& restart_required = {}) {
    reloads_.fetch_add(1, std::memory_order_relaxed);
    record_initial(seconds, std::move(warnings));
    std::lock_guard lock(error_mu_);
    last_error_.clear();
    last_lists_.clear();
    restart_required_ = restart_required;
  }
  // The warnings of the build in service (at most kMaxWarnings kept).
  std::vector<std::string> warnings() const {
    std::lock_guard lock(error_mu_);
    return warnings_;
  }
  static constexpr size_t kMaxWarnings = 200;
  // Control thread: a reload failed; the previous snapshot keeps serving. `lists`: the
  // lists whose guard refused them (policy/list_guard.h), each counted under its reason.
  void record_failure(const std::string& error, const std::vector<ListFailure>& lists = {}) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    last_error_ = error;
    last_lists_ = lists;
    for (const auto& l : lists) ++list_failures_[{l.list, l.reason}];
  }

  // Control thread: a feed's build (not a reload) failed: the lists its list guard refused
  // are counted as a reload's are; the last reload's outcome stays as it was.
  void record_list_refusals(const std::vector<ListFailure>& lists) {
    std::lock_guard lock(error_mu_);
    for (const auto& l : lists) ++list_failures_[{l.list, l.reason}];
  }
  // Control thread: a feed's build published a snapshot: its warnings are those of the
  // policy in service now; the reload counters, time and error are the last reload's.
  void record_feed_build(std::vector<std::string> warnings) {
    std::lock_guard lock(error_mu_);
    if (warnings.size() > kMaxWarnings) warnings.resize(kMaxWarnings);
    warnings_ = std::move(warnings);
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
  // The lists the last reload refused (empty after a success).
  std::vector<ListFailure> last_list_failures() const {
    std::lock_guard lock(error_mu_);
    return last_lists_;
  }
  // The settings waiting for a restart, as of the last successful reload (empty: none).
  std::vector<std::string> restart_required() const {
    std::lock_guard lock(error_mu_);
    return restart_required_;
  }
  // Refusals since start, by (list, reason).
  std::map<std::pair<std::string, std::string>, uint64_t> list_failure_counts() const {
    std::lock_guard lock(error_mu_);
    return list_failures_;
  }

 private:
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<double> last_seconds_{0};
  std::atomic<int64_t> last_success_unix_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
  std::vector<ListFailure> last_lists_;
  std::vector<std::string> warnings_;
  std::vector<std::string> restart_required_;
  std::map<std::pair<std::string, std::string>, uint64_t> list_failures_;
};

}  // namespace sinkhole::observe
