// SPDX-License-Identifier: MIT
#include "resolver/server/reloader.h"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <pthread.h>
#include <sched.h>

#include <ctime>
#include <memory>

#include "policy/snapshot_builder.h"

namespace sinkhole::server {

struct Reloader::Job {
  uv_work_t req;
  Reloader* self;
  uint64_t generation;
  policy::BuildResult result;
  std::vector<Done> done;
};

Reloader::Reloader(uv_loop_t* loop, std::string config_path, policy::SnapshotHolder& holder)
    : loop_(loop),
      path_(std::move(config_path)),
      holder_(holder),
      next_generation_(holder.generation() + 1) {}

void Reloader::request(Done done) {
  if (done) waiting_.push_back(std::move(done));
  if (!running_)
    start();
  else if (waiting_.empty())
    waiting_.push_back(nullptr);  // remember that one more is due
}

void Reloader::start() {
  running_ = true;
  auto* job = new Job{};
  job->self = this;
  job->generation = next_generation_++;
  job->done = std::move(waiting_);
  waiting_.clear();
  job->req.data = job;
  uv_queue_work(
      loop_, &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<Job*>(req->data);
        // SCHED_IDLE: the build runs on CPU time the workers leave over, so a reload does
        // not delay queries (perf/reload_under_load.sh: p99 2.6 ms during 20 reloads vs
        // 4.0 ms at nice 10, and 2.4 ms with no reload at all). The price: on a machine
        // saturated by queries a reload takes longer (35 s instead of 2 s was seen with
        // every core busy compiling); the old policy keeps serving meanwhile. The thread
        // pool runs nothing else, so the class is left in place.
        sched_param idle{};
        pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
        j->result = policy::build_snapshot_from_file(j->self->path_, j->generation);
        malloc_trim(0);  // hand the build's scratch memory back before the next one
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(req->data));
        j->self->finished(*j);
      });
}

void Reloader::finished(Job& job) {
  running_ = false;
  auto& r = job.result;
  Outcome out;
  out.seconds = r.seconds;
  for (size_t i = 0; i < r.warnings.size() && i < 20; ++i)
    spdlog::warn("reload: {}", r.warnings[i]);
  if (r.warnings.size() > 20) spdlog::warn("reload: {} more warnings", r.warnings.size() - 20);
  if (!r.snapshot) {
    ++failures_;
    last_error_ = r.errors.empty() ? "unknown error" : r.errors.front();
    for (const auto& e : r.errors) spdlog::error("reload failed: {}", e);
    spdlog::error("reload failed: keeping generation {} in service", holder_.generation());
    out.message = last_error_;
  } else if (!stopped_) {
    holder_.publish(std::move(r.snapshot));
    ++reloads_;
    last_seconds_ = r.seconds;
    last_success_unix_ = static_cast<int64_t>(std::time(nullptr));
    last_error_.clear();
    out.ok = true;
    out.message = r.summary;
    spdlog::info("reload: generation {} in service: {} ({:.3f} s)", job.generation, r.summary,
                 r.seconds);
    if (on_published) on_published();
  }
  out.generation = holder_.generation();
  for (auto& d : job.done)
    if (d) d(out);
  if (!waiting_.empty() && !stopped_) start();
}

}  // namespace sinkhole::server
