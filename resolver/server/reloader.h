// SPDX-License-Identifier: MIT
// Reloader: rebuilds the policy snapshot from the configuration file on libuv's thread
// pool and publishes it from the control thread. Requests that arrive while a build runs
// are served by one more build after it (the files may have changed since it started).
// A failed build publishes nothing: the previous snapshot keeps serving. Control thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "policy/snapshot_holder.h"

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

  Reloader(uv_loop_t* loop, std::string config_path, policy::SnapshotHolder& holder);
  void request(Done done = nullptr);
  // Shutting down: builds still running finish, but publish nothing.
  void stop() { stopped_ = true; }

  uint64_t reloads() const { return reloads_; }
  uint64_t failures() const { return failures_; }
  double last_seconds() const { return last_seconds_; }
  int64_t last_success_unix() const { return last_success_unix_; }
  const std::string& last_error() const { return last_error_; }
  // Called after every successful publication (e.g. to re-arm file watches).
  std::function<void()> on_published;

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
  uint64_t reloads_ = 0;
  uint64_t failures_ = 0;
  double last_seconds_ = 0;
  int64_t last_success_unix_ = 0;
  std::string last_error_;
};

}  // namespace sinkhole::server
