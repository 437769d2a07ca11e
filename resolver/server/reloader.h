// SPDX-License-Identifier: MIT
// Reloader: rebuilds the policy snapshot from the configuration file on libuv's thread
// pool and publishes it from the control thread. Requests that arrive while a build runs
// are served by one more build after it (the files may have changed since it started).
// A failed build publishes nothing: the previous snapshot keeps serving. Control thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "policy/snapshot_holder.h"
#include "resolver/metrics/block_stats.h"

namespace sinkhole::server {

class Reloader {
 public:
  struct Outcome {
    bool ok = false;
    uint64_t generation = 0;  // in service after this reload
    std::string message;      // summary, or the first error
    double seconds = 0;
  };
  using Done = std::function<void(const Outcome&)>;

  // `stats` (optional) gets the blocked-query counter cells of every snapshot built.
  Reloader(uv_loop_t* loop, std::string config_path, policy::SnapshotHolder& holder,
           metrics::BlockStats* stats = nullptr);
  void request(Done done = nullptr);
  // Shutting down: builds still running finish, but publish nothing.
  void stop() { stopped_ = true; }

  // The build at start-up: its time and duration count as the last successful load.
  void record_initial(double seconds) {
    last_seconds_.store(seconds, std::memory_order_relaxed);
    last_success_unix_.store(static_cast<int64_t>(std::time(nullptr)), std::memory_order_relaxed);
  }
  // Readable from any thread (the metrics endpoint scrapes them).
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  double last_seconds() const { return last_seconds_.load(std::memory_order_relaxed); }
  int64_t last_success_unix() const { return last_success_unix_.load(std::memory_order_relaxed); }
  std::string last_error() const {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }
  // Called after every successful publication (e.g. to re-arm file watches).
  std::function<void()> on_published;
  // Called when a build starts and when it ends, whatever started it (SIGHUP, sinkholectl,
  // a file change) and whether it failed: the systemd RELOADING=1 / READY=1 pair. Not
  // called for a build that ends after stop().
  std::function<void()> on_started;
  std::function<void(const Outcome&)> on_finished;

 private:
  struct Job;
  void start();
  void finished(Job& job);

  uv_loop_t* loop_;
  std::string path_;
  policy::SnapshotHolder& holder_;
  bool running_ = false;
  bool stopped_ = false;
  std::vector<Done> waiting_;  // for the next build
  uint64_t next_generation_;
  metrics::BlockStats* stats_;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<double> last_seconds_{0};
  std::atomic<int64_t> last_success_unix_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace sinkhole::server
