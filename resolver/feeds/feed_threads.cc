// SPDX-License-Identifier: MIT
#include "resolver/feeds/feed_threads.h"

#include <vector>

namespace sinkhole::feeds {

bool FeedThreads::spawn(Cancel cancel, std::function<void()> work) {
  std::unique_lock lock(shared_->mu);
  if (stopped_) return false;
  reap_locked(lock);
  auto e = std::make_shared<Entry>();
  e->cancel = std::move(cancel);
  // The thread holds its entry and the shared lock: both outlive this object when the
  // thread is detached at stop().
  e->thread = std::thread([sh = shared_, e, work = std::move(work)] {
    work();
    std::lock_guard done_lock(sh->mu);
    e->done = true;
    sh->ended.notify_all();
  });
  threads_.push_back(std::move(e));
  return true;
}

void FeedThreads::reap_locked(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<Entry>> ended;
  for (auto it = threads_.begin(); it != threads_.end();) {
    if ((*it)->done) {
      ended.push_back(std::move(*it));
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  // `done` is the thread's last step under the lock: the joins are immediate, made without
  // the lock so that the thread can release it.
  lock.unlock();
  for (auto& e : ended) e->thread.join();
  lock.lock();
}

size_t FeedThreads::stop(std::chrono::milliseconds bound) {
  std::unique_lock lock(shared_->mu);
  stopped_ = true;
  for (auto& e : threads_)
    if (e->cancel) e->cancel->store(true);
  shared_->ended.wait_for(lock, bound, [this] {
    for (const auto& e : threads_)
      if (!e->done) return false;
    return true;
  });
  reap_locked(lock);
  const size_t left = threads_.size();
  for (auto& e : threads_) e->thread.detach();
  threads_.clear();
  return left;
}

size_t FeedThreads::size() const {
  std::lock_guard lock(shared_->mu);
  return threads_.size();
}

}  // namespace sinkhole::feeds
