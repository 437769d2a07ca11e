// SPDX-License-Identifier: MIT
// FeedThreads: the work threads of the feeds (RPZ transfers, HTTP downloads), owned by the
// feed manager so that shutdown can end them: each thread has a cancel flag its work polls
// (xfr_client.h between reads, http_fetch.h in curl's progress callback), and stop() sets
// every flag and joins the threads within a bound. A thread still running past the bound
// (stuck in a system call no flag reaches) is detached and counted, so the daemon still
// exits within its stop timeout. Threads that ended are joined at the next spawn. Control
// thread (spawn, stop); the work itself runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace sinkhole::feeds {

class FeedThreads {
 public:
  using Cancel = std::shared_ptr<std::atomic<bool>>;

  FeedThreads() = default;
  FeedThreads(const FeedThreads&) = delete;
  FeedThreads& operator=(const FeedThreads&) = delete;
  ~FeedThreads() { stop(std::chrono::milliseconds(0)); }

  // Runs `work` on a new thread; `cancel` is set at stop() (the caller may set it earlier,
  // e.g. when its feed is replaced). Throws std::system_error when no thread can be made;
  // after stop() the work is not started and false is returned.
  bool spawn(Cancel cancel, std::function<void()> work);

  // Sets every cancel flag and joins the threads that end within `bound`; returns how many
  // were still running and got detached.
  size_t stop(std::chrono::milliseconds bound);

  // Threads not yet joined (running, or ended and waiting for the next spawn/stop).
  size_t size() const;

 private:
  // Shared with the threads, so that one detached at stop() outlives this object safely.
  struct Shared {
    std::mutex mu;
    std::condition_variable ended;
  };
  struct Entry {
    std::thread thread;
    Cancel cancel;
    bool done = false;  // under Shared::mu
  };
  void reap_locked(std::unique_lock<std::mutex>& lock);

  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::list<std::shared_ptr<Entry>> threads_;  // under shared_->mu
  bool stopped_ = false;
};

}  // namespace sinkhole::feeds
